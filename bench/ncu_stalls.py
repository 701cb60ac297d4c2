"""Where a kernel's warps wait, from Nsight Compute's per-instruction stall samples:

  ncu --set full --kernel-name regex:... --launch-count 1 -o r python3 bench/profile_one.py qwen3-30b-a3b 16384
  ncu -i r.ncu-rep --page source --csv --print-source sass > r-source.csv
  python3 bench/ncu_stalls.py r-source.csv [--top 30] [--range 0x400]

prints the instructions with the most samples (and their main stall reasons), the samples by reason,
and the samples by address range with the notable opcodes in each range, which is how the mainloop,
the epilogue and the producers' loop of a kernel are told apart (docs/performance-log.md, fourteenth
session). The CSV may be gzipped.
"""
from __future__ import annotations

import argparse
import collections
import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"
# Opcodes worth naming in a range: tensor-core math, memory traffic, barriers, copies.
NOTABLE = ("HGMMA", "HMMA", "STG", "STS", "LDG", "LDS", "LDGSTS", "UTMALDG", "UBLKCP", "SYNCS", "BAR", "RED", "ATOM",
           "MUFU", "F2FP", "SHFL", "EXIT")


@dataclass
class Instruction:
  offset: int  # from the kernel's first instruction
  sass: str
  samples: float
  executed: float
  stalls: dict[str, float] = field(default_factory=dict)  # reason (without "stall_") -> samples

  @property
  def opcode(self) -> str:
    words = self.sass.split()
    op = words[1] if words and words[0].startswith("@") and len(words) > 1 else (words[0] if words else "")
    return op.split(".")[0]


def _number(text: str) -> float:
  try:
    return float(text)
  except ValueError:
    return 0.0


def read_source_csv(path: Path) -> list[Instruction]:
  """The instructions of the one kernel in an `ncu --page source --csv --print-source sass` export."""
  opener = gzip.open if path.suffix == ".gz" else open
  with opener(path, "rt", newline="") as f:
    rows = list(csv.reader(f))
  header_at = next((i for i, r in enumerate(rows) if "Address" in r and "Source" in r), None)
  if header_at is None:
    raise ValueError(f"{path}: no header row with 'Address' and 'Source' (not an ncu source-page CSV?)")
  header = rows[header_at]
  col = {name: i for i, name in enumerate(header)}
  for needed in (SAMPLES, EXECUTED):
    if needed not in col:
      raise ValueError(f"{path}: no column '{needed}' (export with --set full)")
  reasons = [h for h in header if h.startswith("stall_") and not h.endswith("(Not Issued)")]
  parsed = []
  for r in rows[header_at + 1:]:
    if len(r) < len(header) or not r[col["Address"]].startswith("0x"):
      continue
    parsed.append((int(r[col["Address"]], 16), r[col["Source"]].strip(), _number(r[col[SAMPLES]]),
                   _number(r[col[EXECUTED]]), {h[len("stall_"):]: _number(r[col[h]]) for h in reasons}))
  if not parsed:
    raise ValueError(f"{path}: no instruction rows")
  base = min(p[0] for p in parsed)
  return sorted((Instruction(a - base, s, n, e, st) for a, s, n, e, st in parsed), key=lambda i: i.offset)


def by_reason(instructions: list[Instruction]) -> collections.Counter:
  total: collections.Counter = collections.Counter()
  for i in instructions:
    total.update(i.stalls)
  return total


def by_range(instructions: list[Instruction], step: int) -> list[tuple[int, float, float, list[str]]]:
  """(first offset, samples, executed instructions, notable opcodes) per `step` bytes of code."""
  ranges: dict[int, list] = {}
  for i in instructions:
    r = ranges.setdefault(i.offset // step * step, [0.0, 0.0, set()])
    r[0] += i.samples
    r[1] += i.executed
    if i.opcode in NOTABLE:
      r[2].add(i.opcode)
  return [(start, s, e, sorted(ops)) for start, (s, e, ops) in sorted(ranges.items())]


def report(instructions: list[Instruction], top: int, step: int) -> str:
  total = sum(i.samples for i in instructions) or 1.0
  lines = [f"{len(instructions)} instructions, {total:.0f} samples", "", "top instructions:"]
  for i in sorted(instructions, key=lambda i: -i.samples)[:top]:
    main = sorted(((v, k) for k, v in i.stalls.items() if v), reverse=True)[:3]
    lines.append(f"  {i.offset:6x} {100 * i.samples / total:5.1f}%  {i.sass[:58]:58s} "
                 + " ".join(f"{k}={v:.0f}" for v, k in main))
  lines += ["", "by reason: " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in by_reason(instructions).most_common(10)),
            "", f"by {step:#x}-byte range (ranges under 0.3% of the samples and without notable opcodes left out):"]
  for start, samples, executed, ops in by_range(instructions, step):
    if samples / total >= 0.003 or ops:
      lines.append(f"  {start:6x}-{start + step:6x} {100 * samples / total:5.1f}%  executed {executed:12.0f}  {' '.join(ops)}")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("csv", type=Path)
  p.add_argument("--top", type=int, default=30, help="instructions to list (default 30)")
  p.add_argument("--range", type=lambda s: int(s, 0), default=0x400, help="bytes of code per range (default 0x400)")
  args = p.parse_args(argv)
  if args.range <= 0 or args.top < 0:
    p.error("--range must be > 0 and --top >= 0")
  print(report(read_source_csv(args.csv), args.top, args.range))


if __name__ == "__main__":
  main()
