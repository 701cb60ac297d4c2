"""Batches with large tiles, each run 50 times in this build: a race between GEMM 1's large tiles and
GEMM 2's shows as a run-to-run difference. Each is also compared with FP4MOE_LARGE_TILES=0 (the
table's tiles alone, no large launch), by relative Frobenius error."""
import os, sys, torch
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from moe_routing import make_routing
from moe_shapes import SHAPES
from nvfp4_torch import random_nvfp4_experts
import fp4moe
for name, tokens, mode, routing in [("qwen3-30b-a3b", 64, "w4a16", "skewed"), ("qwen3-30b-a3b", 128, "w4a4", "skewed"),
                                    ("gpt-oss-120b", 512, "w4a16", "skewed"), ("deepseek-v3", 64, "w4a16", "skewed"),
                                    ("deepseek-v4-flash", 512, "w4a16", "uniform")]:
  shape = SHAPES[name]
  w = random_nvfp4_experts(shape, seed=1, device="cuda")
  r = make_routing(routing, tokens, shape.experts, shape.top_k, seed=2)
  x = torch.randn(tokens, shape.hidden, device="cuda").to(torch.bfloat16)
  ids = torch.from_numpy(r.topk_ids).cuda(); wts = torch.from_numpy(r.topk_weights).cuda()
  outs = {}
  for large in ("1", "0"):
    os.environ["FP4MOE_LARGE_TILES"] = large
    layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, tokens, mode=mode, device="cuda")
    w.load_into(layer)
    first = layer.run(x, wts, ids).clone()
    diff = sum(0 if torch.equal(layer.run(x, wts, ids), first) else 1 for _ in range(50))
    torch.cuda.synchronize()
    print(f"{name} T={tokens} {mode} {routing} large tiles {large}: {diff} of 50 repeats differ from the first "
          f"(finite: {bool(torch.isfinite(first).all())})", flush=True)
    outs[large] = first.float()
    del layer
  rel = float((outs["1"] - outs["0"]).norm() / outs["0"].norm())
  print(f"{name} T={tokens} {mode} {routing}: large tiles on vs off, relative error {rel:.2e}", flush=True)
  os.environ.pop("FP4MOE_LARGE_TILES")
  del w
