"""Summarizes the TL records of the diagnostic decode-kernel build: per forward, each phase's
min / median / max in us, relative to the first GEMM 1 CTA's return from its wait; how many GEMM 2 CTAs were
resident before GEMM 1's last CTA ended; GEMM 1's K loops by the GEMM 1 CTAs their SM held."""
import statistics as st
import sys

recs = []
for line in open(sys.argv[1]):
  if not line.startswith("TL "):
    continue
  p = line.split()
  kind, bx, by, sm = map(int, p[1:5])
  t = list(map(int, p[6:12]))
  recs.append((kind // 10, kind % 10, bx, by, sm, t))
g1 = sorted([r for r in recs if r[0] == 1], key=lambda r: r[5][1])
fwds, cur = [], []
for r in g1:
  if cur and r[5][1] - cur[-1][5][1] > 3000:
    fwds.append(cur); cur = []
  cur.append(r)
if cur: fwds.append(cur)
starts = [min(r[5][1] for r in f) for f in fwds]
g2 = [r for r in recs if r[0] == 2]
def s(vals):
  vals = sorted(vals)
  return "%7.2f %7.2f %7.2f" % (vals[0] / 1e3, st.median(vals) / 1e3, vals[-1] / 1e3) if vals else "-"
for i, f in enumerate(fwds):
  a = starts[i]; b = starts[i + 1] if i + 1 < len(starts) else float("inf")
  work = [r for r in f if r[1] == 1]
  print(f"forward {i}: GEMM 1 CTAs {len(f)} ({len(work)} with a tile); next forward's GEMM 1 wait returns at "
        f"{(b - a) / 1e3 if b != float('inf') else float('nan'):.2f} us")
  print("  phase (us from the first GEMM 1 wait return)   min  median     max")
  print("  G1 entry                    ", s([r[5][0] - a for r in f]))
  print("  G1 wait returns             ", s([r[5][1] - a for r in f]))
  print("  G1 plan built               ", s([r[5][2] - a for r in f]))
  print("  G1 K loop done              ", s([r[5][3] - a for r in work]))
  print("  G1 epilogue done            ", s([r[5][4] - a for r in work]))
  print("  G1 CTA end                  ", s([r[5][5] - a for r in work]))
  f2 = [r for r in g2 if a < r[5][2] < b or (r[1] == 1 and a < r[5][1] < b)]
  w2 = [r for r in f2 if r[1] == 1]
  print(f"  G2 CTAs {len(f2)} ({len(w2)} with a tile)")
  print("  G2 entry                    ", s([r[5][0] - a for r in f2]))
  print("  G2 plan built               ", s([r[5][2] - a for r in f2]))
  print("  G2 wait returns             ", s([r[5][1] - a for r in w2]))
  print("  G2 K loop done              ", s([r[5][3] - a for r in w2]))
  print("  G2 epilogue done            ", s([r[5][4] - a for r in w2]))
  print("  G2 CTA end (incl. combine)  ", s([r[5][5] - a for r in w2]))
  print("  per CTA: G1 loop (t3-t2)    ", s([r[5][3] - r[5][2] for r in work]))
  print("  per CTA: G1 plan (t2-t1)    ", s([r[5][2] - r[5][1] for r in f]))
  print("  per CTA: G2 after wait: loop", s([r[5][3] - r[5][1] for r in w2]))
  print("  per CTA: G2 end - epilogue  ", s([r[5][5] - r[5][4] for r in w2]))
  g1_end = max(r[5][5] for r in work) if work else a
  early = [r for r in f2 if r[5][0] < g1_end]
  print(f"  G2 CTAs resident before G1's last CTA ended: {len(early)} of {len(f2)}")
  per_sm = {}
  for r in work:
    per_sm[r[4]] = per_sm.get(r[4], 0) + 1
  for n in sorted(set(per_sm.values())):
    loops = [r[5][3] - r[5][2] for r in work if per_sm[r[4]] == n]
    print(f"  G1 loop, SMs holding {n} G1 CTAs ({sum(1 for v in per_sm.values() if v == n)} SMs):", s(loops))
