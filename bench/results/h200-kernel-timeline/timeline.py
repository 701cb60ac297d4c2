"""Kernel-level timeline of one forward inside a graph of forwards over rotating weight copies (a diagnostic,
thirty-ninth session): each kernel's start and end relative to the forward's first kernel, from the
profiler's records of one graph replay, median over the replay's middle forwards.

  PYTHONPATH=<module> python3 timeline.py qwen3-30b-a3b 512 [--copies 8] [--mode w4a16] [--routing uniform]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/
from bench_moe import add_row_arguments  # noqa: E402
from moe_routing import make_routing  # noqa: E402
from moe_shapes import SHAPES  # noqa: E402
from nvfp4_torch import random_nvfp4_experts  # noqa: E402


def short(name: str) -> str:
  name = re.sub(r"fp4moe::cuda::|\(anonymous namespace\)::|void ", "", name)
  kernel = re.match(r"\w*", name).group(0)
  tile = re.search(r"MmaTile<([^>]*)>", name)
  which = "GateUp" if "GateUp" in name else "Down" if "Down" in name else ""
  if decode := re.search(r"DecodeGemm\)(\d)>", name):  # the kernel's own argument, not std::conditional's
    which = "GateUp" if decode.group(1) == "0" else "Down"
  return f"{kernel}{'<' + tile.group(1) + '>' if tile else ''}{' ' + which if which else ''}"


def main() -> None:
  p = argparse.ArgumentParser()
  add_row_arguments(p)
  p.add_argument("--copies", type=int, default=8)
  args = p.parse_args()
  import fp4moe  # noqa: PLC0415

  shape = SHAPES[args.shape]
  layers = []
  for c in range(args.copies):
    layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, args.tokens,
                            mode=args.mode, device="cuda")
    random_nvfp4_experts(shape, 100 + c, "cuda").load_into(layer)
    layers.append(layer)
  routing = make_routing(args.routing, args.tokens, shape.experts, shape.top_k, seed=2)
  x = torch.randn(args.tokens, shape.hidden, device="cuda").to(torch.bfloat16)
  ids = torch.from_numpy(routing.topk_ids).cuda()
  weights = torch.from_numpy(routing.topk_weights).cuda()
  out = torch.empty_like(x)
  steps = [lambda l=l: l.run(x, weights, ids, out=out, stream=torch.cuda.current_stream().cuda_stream) for l in layers]
  for s in steps:
    s()
  torch.cuda.synchronize()
  graph = torch.cuda.CUDAGraph()
  with torch.cuda.graph(graph):
    for s in steps:
      s()
  for _ in range(3):
    graph.replay()
  torch.cuda.synchronize()
  with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    graph.replay()
    torch.cuda.synchronize()
  events = sorted(((e.time_range.start, e.time_range.end, short(e.name)) for e in prof.events()
                   if e.device_type == torch.autograd.DeviceType.CUDA), key=lambda t: t[0])
  per_forward = len(events) // args.copies
  if per_forward * args.copies != len(events) or per_forward == 0:
    print(f"{len(events)} events for {args.copies} forwards; raw:")
    for s, e, n in events:
      print(f"  {s:12.1f} {e:12.1f} {n}")
    return
  forwards = [events[i * per_forward:(i + 1) * per_forward] for i in range(args.copies)]
  middle = forwards[1:-1] or forwards
  print(f"{shape.name} T={args.tokens} {args.mode} {args.routing}: {args.copies} copies, "
        f"forward period {statistics.median(b[0][0] - a[0][0] for a, b in zip(forwards, forwards[1:])):.1f} us")
  print(f"{'kernel':58s} {'start':>8s} {'end':>8s} {'dur':>8s}  (us from the forward's first kernel; medians)")
  for k in range(per_forward):
    starts = [f[k][0] - f[0][0] for f in middle]
    ends = [f[k][1] - f[0][0] for f in middle]
    print(f"{middle[0][k][2][:58]:58s} {statistics.median(starts):8.1f} {statistics.median(ends):8.1f} "
          f"{statistics.median(e - s for s, e in zip(starts, ends)):8.1f}")


if __name__ == "__main__":
  main()
