"""The staged GEMM 2's combine against the combine kernel (FP4MOE_STAGED_COMBINE=0) on the same inputs: the
same sums in the same order, so the outputs must match bit for bit; and 50 repeats of each must match their
first (a race shows as a run-to-run difference)."""
import os, sys, torch
sys.path.insert(0, sys.argv[1])
from moe_routing import make_routing
from moe_shapes import SHAPES
from nvfp4_torch import random_nvfp4_experts
import fp4moe
for name, tokens, mode, routing in [("qwen3-30b-a3b", 2048, "w4a16", "uniform"), ("qwen3-30b-a3b", 16384, "w4a16", "uniform"),
                                    ("qwen3-30b-a3b", 4096, "w4a16", "skewed"), ("qwen3-30b-a3b", 4096, "w4a4", "uniform")]:
  shape = SHAPES[name]
  w = random_nvfp4_experts(shape, seed=1, device="cuda")
  r = make_routing(routing, tokens, shape.experts, shape.top_k, seed=2)
  x = torch.randn(tokens, shape.hidden, device="cuda").to(torch.bfloat16)
  ids = torch.from_numpy(r.topk_ids).cuda(); wts = torch.from_numpy(r.topk_weights).cuda()
  outs = {}
  for combine in ("on", "off"):
    os.environ["FP4MOE_STAGED_COMBINE"] = "1" if combine == "on" else "0"
    layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, tokens, mode=mode, device="cuda")
    w.load_into(layer)
    first = layer.run(x, wts, ids).clone()
    diff = sum(0 if torch.equal(layer.run(x, wts, ids), first) else 1 for _ in range(50))
    torch.cuda.synchronize()
    print(f"{name} T={tokens} {mode} {routing} staged combine {combine}: {diff} of 50 repeats differ from the first "
          f"(finite: {bool(torch.isfinite(first).all())})", flush=True)
    outs[combine] = first
    del layer
  print(f"{name} T={tokens} {mode} {routing}: on and off identical: {torch.equal(outs['on'], outs['off'])}", flush=True)
  os.environ.pop("FP4MOE_STAGED_COMBINE")
  del w
