"""Runs one MoE forward of a benchmark shape a few times, for a profiler to watch (ncu, nsys):

  ncu --kernel-name regex:grouped_gemm --launch-skip 2 --launch-count 2 python3 bench/profile_one.py deepseek-v3 4096

Same weights and routing generators as bench_moe.py; no timing of its own (that is bench_moe.py's job).
"""
from __future__ import annotations

import argparse

import torch

from bench_moe import add_row_arguments
from moe_routing import make_routing
from moe_shapes import SHAPES
from nvfp4_torch import random_nvfp4_experts


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  add_row_arguments(p)
  p.add_argument("--runs", type=int, default=3)
  args = p.parse_args()

  import fp4moe  # noqa: PLC0415 (after argparse, so --help works without the module)

  shape = SHAPES[args.shape]
  w = random_nvfp4_experts(shape, seed=1, device="cuda")
  layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, args.tokens,
                          mode=args.mode, device="cuda")
  w.load_into(layer)
  routing = make_routing(args.routing, args.tokens, shape.experts, shape.top_k, seed=2)
  x = torch.randn(args.tokens, shape.hidden, device="cuda").to(torch.bfloat16)
  ids = torch.from_numpy(routing.topk_ids).cuda()
  weights = torch.from_numpy(routing.topk_weights).cuda()
  for _ in range(args.runs):
    out = layer.run(x, weights, ids)
  torch.cuda.synchronize()
  print(f"{shape.name} T={args.tokens} {args.mode} {args.routing}: {args.runs} runs, out norm {out.float().norm():.4g}")


if __name__ == "__main__":
  main()
