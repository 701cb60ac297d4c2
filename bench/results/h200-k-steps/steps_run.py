"""Diagnostic driver for the per-K-step records (session 25): six weight copies (so the one-token forwards stream from DRAM,
as the benchmark's rotation does), one graph of six forwards replayed twice; the kernels reset their
records at forward 12 (the second replay) and print them at forward 18 (one eager forward after it)."""
import sys

import torch

sys.path.insert(0, "bench")
import gpu_timing  # noqa: E402
from moe_routing import make_routing  # noqa: E402
from moe_shapes import SHAPES  # noqa: E402
from nvfp4_torch import random_nvfp4_experts  # noqa: E402

import fp4moe  # noqa: E402

shape = SHAPES[sys.argv[1]]
tokens = int(sys.argv[2])
layers = []
for copy in range(6):
  layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, tokens, mode="w4a16",
                          device="cuda")
  random_nvfp4_experts(shape, seed=1 + copy, device="cuda").load_into(layer)
  layers.append(layer)
routing = make_routing("uniform", tokens, shape.experts, shape.top_k, seed=2)
x = torch.randn(tokens, shape.hidden, device="cuda").to(torch.bfloat16)
ids = torch.from_numpy(routing.topk_ids).cuda()
weights = torch.from_numpy(routing.topk_weights).cuda()
graph = gpu_timing.capture_graph([lambda l=l: l.run(x, weights, ids) for l in layers])
graph.replay()
graph.replay()
layers[0].run(x, weights, ids)
torch.cuda.synchronize()
