#!/usr/bin/env python3
# The fp4moe MoE benchmark (method: shared/spec/benchmarking.md): the two ceilings measured first, then for
# every shape, mode, token batch and routing the whole layer and its GEMM kernels, the BF16 torch._grouped_mm
# peer on the same inputs, and the floor. Prints a table; writes bench/results/<device>.json and .md.
# `python3 bench/bench_moe.py --self-test` checks the pure parts (floor, routing, formatting) without a GPU.
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from moe_report import RULE_SWITCHES
from moe_routing import SKEWED, UNIFORM
from moe_shapes import SHAPES, TOKEN_BATCHES, parse_shapes, parse_tokens

MODES = ("w4a16", "w4a4")
SKEW_MIN_TOKENS = 64  # below this "half the tokens to 4 experts" is a handful of tokens: not worth a row
QUICK_SHAPES = "qwen3-30b-a3b,deepseek-v3"
QUICK_TOKENS = "1,64,4096"


def add_row_arguments(p: argparse.ArgumentParser) -> None:
  """The one row that a single-row tool runs (profile_one.py, clock_watch.py), named as this benchmark names it."""
  p.add_argument("shape", choices=list(SHAPES))
  p.add_argument("tokens", type=int)
  p.add_argument("--mode", default=MODES[0], choices=MODES)
  p.add_argument("--routing", default=UNIFORM, choices=(UNIFORM, SKEWED))


def parse_args(argv: list[str]) -> argparse.Namespace:
  p = argparse.ArgumentParser(description="fp4moe MoE benchmark: ours vs floor vs the torch._grouped_mm peer")
  p.add_argument("--self-test", action="store_true", help="check the pure parts on the CPU and exit")
  p.add_argument("--shapes", default=None, help=f"'all' or a comma list of {list(SHAPES)}")
  p.add_argument("--tokens", default=None, help=f"comma list of token batches (default {TOKEN_BATCHES})")
  p.add_argument("--modes", default=",".join(MODES), help="comma list of w4a16, w4a4")
  p.add_argument("--skewed", choices=("on", "off", "only"), default="on",
                 help=f"skewed routing rows (half the tokens to 4 experts) for batches >= {SKEW_MIN_TOKENS}")
  p.add_argument("--quick", action="store_true", help=f"shapes {QUICK_SHAPES}, tokens {QUICK_TOKENS}, shorter timing")
  p.add_argument("--no-peer", action="store_true", help="skip the torch._grouped_mm peer")
  p.add_argument("--seed", type=int, default=1234)
  p.add_argument("--min-runs", type=int, default=20, help="timed runs per figure, at least")
  p.add_argument("--target-ms", type=float, default=None, help="timed milliseconds per figure (default 150, quick 60)")
  p.add_argument("--ours-mem-gib", type=float, default=40.0, help="device memory for our layer copies")
  p.add_argument("--peer-mem-gib", type=float, default=30.0, help="device memory for the peer's BF16 copies")
  p.add_argument("--marlin-lib", default=None,
                 help="libpeer_marlin.so (bench/marlin/build.py): also time vLLM's NVFP4 Marlin MoE on the same "
                      "weights (gate and up then share one scale_2, as Marlin keeps one)")
  p.add_argument("--marlin-mem-gib", type=float, default=20.0, help="device memory for the Marlin peer's copies")
  p.add_argument("--out-dir", default=str(Path(__file__).resolve().parent / "results"))
  p.add_argument("--fp4moe-path", default=None, help="a folder to put first on sys.path to find the fp4moe module")
  p.add_argument("--gemm", default=None,
                 help="force one compiled GEMM tile shape (FP4MOE_GEMM, e.g. mma32-r128-w4-s4-d2, wgmma128-r256-w8-s8): crossovers")
  p.add_argument("--w4a4-scales", choices=("dynamic", "calibrated"), default="dynamic",
                 help="W4A4's activation global scales: from the device amax each forward, or ModelOpt input scales "
                      "calibrated on the first tokens of the largest batch (as a checkpoint carries them)")
  p.add_argument("--bias", choices=("on", "off"), default="off",
                 help="every expert's projections with a bias, as gpt-oss's: FP32 in ours, BF16 in the peer (added "
                      "after its grouped GEMMs); the floor counts their bytes")
  for switch in RULE_SWITCHES:
    p.add_argument(f"--{switch.flag}", choices=("on", "off"), default="on", help=switch.help)
  args = p.parse_args(argv)
  if args.bias == "on" and args.marlin_lib:
    p.error("--bias on: the Marlin peer takes no biases; leave out --marlin-lib")
  args.shapes = args.shapes or (QUICK_SHAPES if args.quick else "all")
  args.tokens = args.tokens or (QUICK_TOKENS if args.quick else ",".join(map(str, TOKEN_BATCHES)))
  args.target_ms = args.target_ms or (60.0 if args.quick else 150.0)
  args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
  bad_modes = [m for m in args.modes if m not in MODES]
  if bad_modes or not args.modes:
    p.error(f"--modes: expected a comma list of {MODES}, got {bad_modes or 'nothing'}")
  try:
    args.shape_list = parse_shapes(args.shapes)
    args.token_list = parse_tokens(args.tokens)
  except ValueError as e:
    p.error(str(e))
  args.row_specs = row_specs(args.token_list, args.skewed)
  return args


def row_specs(tokens: list[int], skewed: str) -> list[tuple[int, str]]:
  """(tokens, routing kind) of every row of one shape and mode."""
  specs = []
  for t in tokens:
    if skewed != "only":
      specs.append((t, UNIFORM))
    if skewed != "off" and t >= SKEW_MIN_TOKENS:
      specs.append((t, SKEWED))
  return specs


def rule_switch_env(args: argparse.Namespace) -> dict[str, str]:
  """The environment variables of the rule switches, as every layer the run creates reads them."""
  return {s.env: "1" if getattr(args, s.key) == "on" else "0" for s in RULE_SWITCHES}


def main(argv: list[str]) -> int:
  args = parse_args(argv)
  if args.self_test:
    import self_test  # numpy only

    return self_test.main()
  if args.gemm:
    os.environ["FP4MOE_GEMM"] = args.gemm  # read by every layer the run creates
  os.environ.update(rule_switch_env(args))  # likewise
  import moe_run  # torch and fp4moe: only on the GPU machine

  return moe_run.run(args)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
