"""Batches with large tiles, run 50 times each with the hand-off of both tile lists (this build's default):
a race between a GEMM 2 launch and the GEMM 1 tiles it waits for shows as a run-to-run difference. Each
is also compared with FP4MOE_TILE_HANDOFF=0 (GEMM 2 after all of GEMM 1), which must give the same bits:
the hand-off changes when tiles run, not what they compute.

  PYTHONPATH=<module> python3 repeat_check.py
"""
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/
from moe_routing import make_routing  # noqa: E402
from moe_shapes import SHAPES  # noqa: E402
from nvfp4_torch import random_nvfp4_experts  # noqa: E402

import fp4moe  # noqa: E402

failed = 0
for name, tokens, routing in [("gpt-oss-120b", 64, "skewed"), ("deepseek-v3", 64, "skewed"),
                              ("gpt-oss-120b", 512, "skewed"), ("deepseek-v4-flash", 512, "uniform"),
                              ("deepseek-v4-flash", 1024, "skewed")]:
  shape = SHAPES[name]
  w = random_nvfp4_experts(shape, seed=1, device="cuda")
  r = make_routing(routing, tokens, shape.experts, shape.top_k, seed=2)
  x = torch.randn(tokens, shape.hidden, device="cuda").to(torch.bfloat16)
  ids, wts = torch.from_numpy(r.topk_ids).cuda(), torch.from_numpy(r.topk_weights).cuda()
  outs = {}
  for handoff in ("1", "0"):
    os.environ["FP4MOE_TILE_HANDOFF"] = handoff
    layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, tokens, device="cuda")
    w.load_into(layer)
    first = layer.run(x, wts, ids).clone()
    diff = sum(0 if torch.equal(layer.run(x, wts, ids), first) else 1 for _ in range(50))
    torch.cuda.synchronize()
    finite = bool(torch.isfinite(first).all())
    failed += diff > 0 or not finite
    print(f"{name} T={tokens} {routing} hand-off {handoff}: {diff} of 50 repeats differ from the first "
          f"(finite: {finite})", flush=True)
    outs[handoff] = first
    del layer
  same = torch.equal(outs["1"], outs["0"])
  failed += not same
  print(f"{name} T={tokens} {routing}: hand-off on and off {'bit-identical' if same else 'DIFFER'}", flush=True)
  os.environ.pop("FP4MOE_TILE_HANDOFF")
  del w
print("repeat check:", "FAILED" if failed else "passed")
