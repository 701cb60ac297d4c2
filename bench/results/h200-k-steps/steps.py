"""Summarizes the ST records of the per-K-step diagnostic build: per GEMM, per K step, medians (and
max) over the recorded warps of: the token wait + slice barrier, the weights' arrival after it, the
step's MMAs; times in us from the warp's mainloop entry. Also split by how many CTAs of that GEMM
shared the warp's SM."""
import collections
import statistics as st
import sys

recs = []
for line in open(sys.argv[1]):
  if not line.startswith("ST "):
    continue
  head, _, tail = line.partition(" E ")
  p = head.split()
  g, bx, by, sl, sm, kt = map(int, p[1:7])
  entry, tok = int(p[7]), int(p[8])
  v = list(map(int, p[9:]))
  steps = [v[i:i + 4] for i in range(0, len(v), 4)]
  recs.append(dict(g=g, bx=bx, by=by, slice=sl, sm=sm, k=kt, entry=entry, tok=tok, steps=steps, end=int(tail)))
def q(vals):
  vals = sorted(vals)
  return "%6.2f %6.2f %6.2f" % (vals[0] / 1e3, st.median(vals) / 1e3, vals[-1] / 1e3) if vals else "-"
for g in (0, 1):
  rs = [r for r in recs if r["g"] == g]
  if not rs: continue
  ctas_on_sm = collections.Counter()
  seen = set()
  for r in rs:
    if (r["sm"], r["bx"], r["by"]) not in seen:
      seen.add((r["sm"], r["bx"], r["by"])); ctas_on_sm[r["sm"]] += 1
  print(f"GEMM {g + 1}: {len(rs)} warp records, {len(seen)} CTAs on {len(ctas_on_sm)} SMs, K steps per slice {sorted(set(r['k'] for r in rs))}")
  t0 = min(r["entry"] for r in rs)
  print("  entry (us from the first)        ", q([r["entry"] - t0 for r in rs]))
  print("  before_tokens done (from entry)  ", q([r["tok"] for r in rs]))
  print("  loop end (from entry)            ", q([r["end"] for r in rs]))
  for share in sorted(set(ctas_on_sm.values())):
    sub = [r for r in rs if ctas_on_sm[r["sm"]] == share]
    print(f"  -- warps on SMs holding {share} CTA(s) of this GEMM: {len(sub)}; loop end {q([r['end'] for r in sub])}")
    nsteps = max(len(r["steps"]) for r in sub)
    print("     step  start(from entry)       wait+barrier           weights after it        MMAs              gap to next")
    for k in range(nsteps):
      w = [r for r in sub if len(r["steps"]) > k]
      a = [r["steps"][k][0] for r in w]
      wb = [r["steps"][k][1] - r["steps"][k][0] for r in w]
      wt = [r["steps"][k][2] - r["steps"][k][1] for r in w]
      mm = [r["steps"][k][3] - r["steps"][k][2] for r in w]
      gp = [r["steps"][k + 1][0] - r["steps"][k][3] for r in w if len(r["steps"]) > k + 1]
      print(f"     {k:3d}  {q(a)}  {q(wb)}  {q(wt)}  {q(mm)}  {q(gp)}")
