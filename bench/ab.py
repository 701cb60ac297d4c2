#!/usr/bin/env python3
# Before/after on one GPU: builds the fp4moe Python module of two revisions, runs bench_moe.py for them in
# alternation (base, new, base, new, ...) with the same arguments, and prints per row the median of "ours us"
# of each side, new/base, and how far each side's rounds spread. The lent GPUs differ by about 5% from one
# machine to the next, and the timing window changes the clocks, so a before/after figure is trusted only
# when both sides ran in one invocation of this script (docs/performance-log.md).
#
#   python3 bench/ab.py main                              # main against the working tree, bench defaults
#   python3 bench/ab.py HEAD~1 --new HEAD --rounds 3 -- --modes w4a16 --tokens 8,64 --no-peer
#   python3 bench/ab.py --compare b1.json,b2.json n1.json,n2.json   # no GPU: compare earlier results (bench_moe.py's
#                                                                   # or `fp4moe bench --json`'s)
#   python3 bench/ab.py --compare b1.json,b2.json n1.json,n2.json --kernel GateUp   # GEMM 1's time per forward
#
# Both sides are measured with this tree's bench_moe.py, so the method cannot differ between them.
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORKTREE = "worktree"  # --new's default: the files as they are, committed or not

RowKey = tuple[str, str, int, str]  # shape, mode, tokens, routing


@dataclass
class CompareRow:
  key: RowKey
  base_us: float
  new_us: float
  base_spread: float  # (slowest round / fastest round) - 1 of each side
  new_spread: float

  @property
  def ratio(self) -> float:
    return self.new_us / self.base_us


def load_times(result_json: Path, kernel: str | None = None) -> dict[RowKey, float]:
  """Our time of every measured row of one result file (.json, or .json.gz as the folders of bench/results/
  keep them) of bench_moe.py ('ours us') or of `fp4moe bench --json` (its 'us'; the mode is the file's); with
  `kernel` (a regular expression), the time per forward of our kernels whose names it matches, summed, from
  the row's profile (rows where none matches are left out)."""
  path = Path(result_json)
  text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
  doc = json.loads(text)
  rows = doc["rows"]
  def key(r: dict) -> RowKey:
    return r["shape"], r.get("mode", doc.get("mode")), int(r["tokens"]), r["routing"]

  if kernel is None:
    return {key(r): float(r.get("ours_us") or r.get("us")) for r in rows if r.get("ours_us") or r.get("us")}
  pattern = re.compile(kernel)
  out = {}
  for r in rows:
    profile = r.get("ours_kernels") or r.get("kernels") or []
    matched = [float(k["us_per_forward"]) for k in profile if pattern.search(k["name"])]
    if matched:
      out[key(r)] = sum(matched)
  return out


def result_file(path: Path) -> Path:
  """A result JSON given as itself or as the folder bench_moe.py wrote it into (one JSON there)."""
  path = Path(path)
  if path.is_file():
    return path
  found = sorted(path.glob("*.json")) + sorted(path.glob("*.json.gz"))
  if len(found) != 1:
    raise ValueError(f"{path}: expected a bench_moe.py result file or a folder with exactly one, found {len(found)}")
  return found[0]


def compare(base_runs: list[dict[RowKey, float]], new_runs: list[dict[RowKey, float]]) -> list[CompareRow]:
  """Rows present in every run of both sides, in the first base run's order."""
  runs = base_runs + new_runs
  if not base_runs or not new_runs:
    raise ValueError("compare: need at least one run of each side")
  keys = [k for k in base_runs[0] if all(k in r for r in runs)]

  def spread(values: list[float]) -> float:
    return max(values) / min(values) - 1.0

  out = []
  for k in keys:
    base, new = [r[k] for r in base_runs], [r[k] for r in new_runs]
    out.append(CompareRow(k, statistics.median(base), statistics.median(new), spread(base), spread(new)))
  return out


def format_compare(rows: list[CompareRow], base_name: str, new_name: str, kernel: str | None = None) -> str:
  """The comparison as a table; with `kernel` (load_times'), a line above it says whose times they are."""
  header = f"| shape | mode | tokens | routing | {base_name} us | {new_name} us | new/base | spread base / new |"
  lines = [] if kernel is None else [f"Our kernels matching /{kernel}/, us per forward:", ""]
  lines += [header, "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    shape, mode, tokens, routing = r.key
    lines.append(f"| {shape} | {mode} | {tokens} | {routing} | {r.base_us:.1f} | {r.new_us:.1f} | {r.ratio:.3f} | "
                 f"{100 * r.base_spread:.1f}% / {100 * r.new_spread:.1f}% |")
  return "\n".join(lines)


def source_tree(rev: str, work: Path) -> Path:
  """The sources of `rev` (a git revision, or WORKTREE for the files as they are) as a folder."""
  if rev == WORKTREE:
    return REPO
  dst = work / f"src-{rev.replace('/', '_')}"
  dst.mkdir(parents=True)
  archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
  subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
  return dst


def start_build(src: Path, target: Path, build_dir: Path, arch: str, jobs: int, log: Path) -> subprocess.Popen:
  env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=str(jobs))
  cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
         "--target", str(target), "-C", f"cmake.define.CMAKE_CUDA_ARCHITECTURES={arch}", "-C",
         f"build-dir={build_dir}", str(src)]
  return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def run_bench(target: Path, out_dir: Path, bench_args: list[str], kernel: str | None) -> dict[RowKey, float]:
  cmd = [sys.executable, str(BENCH_DIR / "bench_moe.py"), "--fp4moe-path", str(target), "--out-dir", str(out_dir),
         *bench_args]
  subprocess.run(cmd, check=False)  # a flagged row still writes its results; a missing file fails below
  return load_times(result_file(out_dir), kernel)


def parse_args(argv: list[str]) -> argparse.Namespace:
  p = argparse.ArgumentParser(description="same-GPU before/after of two fp4moe revisions (bench_moe.py rows)")
  p.add_argument("base", nargs="?", help="git revision measured as the base")
  p.add_argument("--new", default=WORKTREE, help=f"git revision measured as new (default: the {WORKTREE})")
  p.add_argument("--rounds", type=int, default=2, help="times each side runs, alternating (default 2)")
  p.add_argument("--arch", default="90a", help="CMAKE_CUDA_ARCHITECTURES of both builds (default 90a)")
  p.add_argument("--work-dir", default=None, help="where sources, builds and results go (default: a temp folder)")
  p.add_argument("--compare", nargs=2, metavar=("BASE", "NEW"),
                 help="no build, no GPU: compare bench_moe.py results, each side a comma list of JSON files or "
                      "of the folders they were written into")
  p.add_argument("--kernel", metavar="REGEX",
                 help="compare the time per forward of our kernels whose names match REGEX (summed), from each "
                      "row's profile, instead of the whole layer's (e.g. GateUp: GEMM 1)")
  args, bench_args = p.parse_known_args(argv)
  if bench_args and bench_args[0] == "--":
    bench_args = bench_args[1:]
  args.bench_args = bench_args
  if args.compare is None and args.base is None:
    p.error("base: a git revision to measure against (or --compare BASE NEW)")
  if args.rounds < 1:
    p.error(f"--rounds: at least 1, got {args.rounds}")
  if args.kernel is not None:
    try:
      re.compile(args.kernel)
    except re.error as e:
      p.error(f"--kernel: not a regular expression ({e}): {args.kernel!r}")
  return args


def main(argv: list[str]) -> int:
  args = parse_args(argv)
  if args.compare:
    try:
      sides = [[load_times(result_file(Path(p)), args.kernel) for p in paths.split(",")] for paths in args.compare]
      print(format_compare(compare(*sides), "base", "new", args.kernel))
    except (OSError, ValueError, KeyError) as e:
      print(f"ab.py --compare: {e}", file=sys.stderr)
      return 1
    return 0
  work = Path(args.work_dir or tempfile.mkdtemp(prefix="fp4moe-ab-"))
  work.mkdir(parents=True, exist_ok=True)
  jobs = max(1, (os.cpu_count() or 2) // 2)
  sides = {"base": args.base, "new": args.new}
  builds = {}
  for name, rev in sides.items():
    log = work / f"build-{name}.log"
    builds[name] = (start_build(source_tree(rev, work), work / f"module-{name}", work / f"build-{name}", args.arch,
                                jobs, log), log)
  for name, (proc, log) in builds.items():
    if proc.wait() != 0:
      print(f"ab.py: building {name} ({sides[name]}) failed; the end of {log}:", file=sys.stderr)
      print("".join(log.read_text().splitlines(keepends=True)[-30:]), file=sys.stderr)
      return 1
  runs: dict[str, list[dict[RowKey, float]]] = {"base": [], "new": []}
  for round_ in range(args.rounds):
    for name in ("base", "new"):
      print(f"ab.py: round {round_ + 1}/{args.rounds}, {name} ({sides[name]})", file=sys.stderr)
      runs[name].append(run_bench(work / f"module-{name}", work / f"results-{name}-{round_ + 1}", args.bench_args,
                                  args.kernel))
  print(format_compare(compare(runs["base"], runs["new"]), args.base, args.new, args.kernel))
  print(f"(results and build logs in {work})", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
