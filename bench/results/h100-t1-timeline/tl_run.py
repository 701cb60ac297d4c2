"""Diagnostic driver for diag.patch (the decode kernels' per-CTA phase stamps): six weight copies, so that the
one-token forwards stream their weights from DRAM as the benchmark's rotation does; one graph of six forwards,
replayed twice; the kernels clear their records at forward 12 (the second replay's first) and print them at
forward 18 (one eager forward after it). Usage: tl_run.py SHAPE TOKENS (PYTHONPATH: the diagnostic module)."""
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
  random_nvfp4_experts(shape, 1 + copy, "cuda").load_into(layer)
  layers.append(layer)
routing = make_routing("uniform", tokens, shape.experts, shape.top_k, seed=2)
x = torch.randn(tokens, shape.hidden, device="cuda").to(torch.bfloat16)
ids = torch.from_numpy(routing.topk_ids).cuda()
weights = torch.from_numpy(routing.topk_weights).cuda()
out = torch.empty_like(x)


def step(layer):
  return lambda: layer.run(x, weights, ids, out=out, stream=torch.cuda.current_stream().cuda_stream)


graph = gpu_timing.capture_graph([step(layer) for layer in layers])
graph.replay()
graph.replay()
step(layers[0])()
torch.cuda.synchronize()
