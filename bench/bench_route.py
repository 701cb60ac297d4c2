#!/usr/bin/env python3
"""fp4moe.route on the GPU (one kernel: logits [T, E] -> top-k ids and weights) against the same routing
written in PyTorch ops, each replayed in a CUDA graph of 16 calls; prints a Markdown table of the median
microseconds per call. The routings: qwen3-30b-a3b's softmax top-8 renormalized (128 experts), gpt-oss's
top-4 softmax (128), DeepSeek-V3's grouped sigmoid top-8 (256 experts in 8 groups, 4 kept, with a
correction bias). The id sets of both are checked to agree (but on near-ties) before timing.

With --chain, also what the routing adds to a decode step: qwen3-30b-a3b's layer with the routing on
the device before it against the layer alone on the same routing, over 8 rotated weight copies (as
bench_moe.py rotates them), per step.

    python3 bench/bench_route.py [--tokens 1,64,4096,16384] [--chain 1,8] [--fp4moe-path DIR]
"""
from __future__ import annotations

import argparse
import sys

import torch

from gpu_timing import TimingPolicy, capture_graph, time_runs
from moe_shapes import SHAPES
from nvfp4_torch import random_nvfp4_experts

CALLS_PER_RUN = 16
CHAIN_COPIES = 8  # qwen3's layer is 0.34 GB: 8 copies are far past L2
ROUTINGS = {  # name: (experts, top_k, fp4moe.route keyword arguments)
    "qwen3 softmax_topk": (128, 8, {"method": "softmax_topk", "renormalize": True}),
    "gpt-oss topk_softmax": (128, 4, {"method": "topk_softmax"}),
    "deepseek-v3 sigmoid_grouped_topk": (256, 8, {"method": "sigmoid_grouped_topk", "num_groups": 8,
                                                   "topk_group": 4, "routed_scaling_factor": 2.5}),
}


def torch_route(logits, k, method, renormalize=False, num_groups=1, topk_group=1, routed_scaling_factor=1.0,
                correction_bias=None):
  """The routing as an engine writes it in PyTorch ops (ties may go either way)."""
  if method == "softmax_topk":
    w, ids = torch.topk(torch.softmax(logits, dim=-1), k)
    return (w / w.sum(-1, keepdim=True) if renormalize else w), ids.to(torch.int32)
  if method == "topk_softmax":
    v, ids = torch.topk(logits, k)
    return torch.softmax(v, dim=-1), ids.to(torch.int32)
  s = torch.sigmoid(logits)
  biased = s + correction_bias
  groups = biased.view(logits.shape[0], num_groups, -1).topk(2, dim=-1).values.sum(-1)
  kept = torch.zeros_like(groups).scatter_(1, groups.topk(topk_group, dim=-1).indices, 1.0)
  allowed = kept.repeat_interleave(logits.shape[1] // num_groups, dim=1) > 0
  ids = biased.masked_fill(~allowed, float("-inf")).topk(k, dim=-1).indices
  w = s.gather(1, ids)
  return w / w.sum(-1, keepdim=True) * routed_scaling_factor, ids.to(torch.int32)


def time_chain(fp4moe, token_batches, policy) -> None:
  shape = SHAPES["qwen3-30b-a3b"]
  layers = []
  for copy in range(CHAIN_COPIES):
    layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, max(token_batches),
                            device="cuda")
    random_nvfp4_experts(shape, 100 + copy, "cuda").load_into(layer)
    layers.append(layer)
  print("\n| qwen3-30b-a3b decode step | tokens | layer alone us | routing + layer us | the routing adds us |")
  print("|---|---|---|---|---|")
  g = torch.Generator(device="cuda").manual_seed(8)
  for tokens in token_batches:
    x = torch.randn(tokens, shape.hidden, device="cuda", generator=g).to(torch.bfloat16)
    logits = torch.randn(tokens, shape.experts, device="cuda", generator=g)
    weights, ids = fp4moe.route(logits, shape.top_k, renormalize=True)
    out = torch.empty_like(x)
    alone = [lambda layer=layer: layer.run(x, weights, ids, out=out) for layer in layers]
    routed = [lambda layer=layer: layer.run(x, *fp4moe.route(logits, shape.top_k, renormalize=True), out=out)
              for layer in layers]
    times = [time_runs(capture_graph(steps).replay, CHAIN_COPIES, policy).us_per_forward for steps in (alone, routed)]
    print(f"| softmax top-8 | {tokens} | {times[0]:.1f} | {times[1]:.1f} | {times[1] - times[0]:.1f} |", flush=True)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tokens", default="1,64,4096,16384")
  parser.add_argument("--chain", default="", help="token batches for the decode-step comparison (none by default)")
  parser.add_argument("--fp4moe-path", help="a folder holding the fp4moe package, put first on sys.path")
  args = parser.parse_args()
  if args.fp4moe_path:
    sys.path.insert(0, args.fp4moe_path)
  import fp4moe

  policy = TimingPolicy()
  print(f"device: {torch.cuda.get_device_name()}\n")
  print("| routing | tokens | fp4moe.route us | PyTorch ops us | PyTorch / ours |")
  print("|---|---|---|---|---|")
  g = torch.Generator(device="cuda").manual_seed(7)
  for name, (experts, k, kw) in ROUTINGS.items():
    if kw["method"] == "sigmoid_grouped_topk":
      kw = dict(kw, correction_bias=torch.rand(experts, device="cuda", generator=g) * 0.3)
    for tokens in (int(t) for t in args.tokens.split(",")):
      logits = torch.randn(tokens, experts, device="cuda", generator=g)
      ours_ids = fp4moe.route(logits, k, **kw)[1]
      theirs_ids = torch_route(logits, k, **kw)[1]
      same = (ours_ids.sort(-1).values == theirs_ids.sort(-1).values).all(-1).float().mean().item()
      # The two sigmoids may round apart by an ulp, which can swap a near-tie at the k-th place.
      assert same >= 0.999, f"{name} T={tokens}: the id sets agree on only {same:.2%} of the tokens"
      times = []
      for route in (fp4moe.route, torch_route):
        graph = capture_graph([lambda: route(logits, k, **kw)] * CALLS_PER_RUN)
        times.append(time_runs(graph.replay, CALLS_PER_RUN, policy).us_per_forward)
      print(f"| {name} | {tokens} | {times[0]:.1f} | {times[1]:.1f} | {times[1] / times[0]:.2f} |", flush=True)
  if args.chain:
    time_chain(fp4moe, [int(t) for t in args.chain.split(",")], policy)
  return 0


if __name__ == "__main__":
  sys.exit(main())
