"""Where each kernel of a forward starts and ends, in the benchmark's setting:

  python3 bench/kernel_timeline.py qwen3-30b-a3b 512 [--copies 8] [--mode w4a16] [--routing uniform]

A CUDA graph of forwards over --copies weight copies (rotated as bench_moe.py rotates them, so the weights
stream from DRAM), one replay under the PyTorch profiler, and for each kernel of a forward its start, end and
duration in us from the forward's first kernel: medians over the replay's forwards but the first and the last.
A kernel launched early by programmatic dependent launch becomes resident, and so starts here, before its
wait returns; the forward period is the median distance between the forwards' first kernels. It shows where
the chain of a forward waits: the plan before GEMM 1, GEMM 2 after GEMM 1's last CTA, the combine's tail.
Diagnostic: not part of any table (bench/results/h200-kernel-timeline/).
"""
from __future__ import annotations

import argparse
import re
import statistics
import time
from dataclasses import dataclass

from bench_moe import add_row_arguments


def kernel_label(name: str) -> str:
  """A kernel's demangled name shortened to its function, tile shape and GEMM (GateUp or Down)."""
  name = re.sub(r"fp4moe::cuda::|\(anonymous namespace\)::|void ", "", name)
  kernel = re.match(r"\w*", name).group(0)
  tile = re.search(r"MmaTile<([^>]*)>", name)
  which = "GateUp" if "GateUp" in name else "Down" if "Down" in name else ""
  if decode := re.search(r"DecodeGemm\)(\d)>", name):  # the kernel's own argument, not std::conditional's
    which = "GateUp" if decode.group(1) == "0" else "Down"
  return f"{kernel}{'<' + tile.group(1) + '>' if tile else ''}{' ' + which if which else ''}"


@dataclass
class Span:
  label: str
  start_us: float  # from the forward's first kernel
  end_us: float


def forward_spans(events: list[tuple[float, float, str]], forwards: int) -> tuple[list[Span], float]:
  """The kernels of one forward, medians over all forwards but the first and the last, and the forward period,
  from (start, end, label) records of `forwards` forwards in a row. Raises ValueError unless every forward ran
  the same number of kernels."""
  events = sorted(events)
  per_forward = len(events) // forwards if forwards > 0 else 0
  if per_forward == 0 or per_forward * forwards != len(events):
    raise ValueError(f"{len(events)} kernel records for {forwards} forwards")
  runs = [events[i * per_forward:(i + 1) * per_forward] for i in range(forwards)]
  period = statistics.median(b[0][0] - a[0][0] for a, b in zip(runs, runs[1:])) if forwards > 1 else 0.0
  middle = runs[1:-1] or runs
  spans = [Span(middle[0][k][2], statistics.median(r[k][0] - r[0][0] for r in middle),
                statistics.median(r[k][1] - r[0][0] for r in middle)) for k in range(per_forward)]
  return spans, period


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  add_row_arguments(p)
  p.add_argument("--copies", type=int, default=8, help="weight copies, one forward each (default 8)")
  p.add_argument("--warm-s", type=float, default=0.0,
                 help="seconds of replays before the profiled one (default: three replays), for a board held "
                      "under load as the benchmark holds it; on the H200 at qwen3 T=512 0 and 1 s measured the "
                      "same period (bench/results/h200-timeline-warm/)")
  args = p.parse_args()

  import torch  # noqa: PLC0415 (after argparse, so --help works without torch)

  import fp4moe  # noqa: PLC0415
  from moe_routing import make_routing  # noqa: PLC0415
  from moe_shapes import SHAPES  # noqa: PLC0415
  from nvfp4_torch import random_nvfp4_experts  # noqa: PLC0415

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

  def step(layer):
    return lambda: layer.run(x, weights, ids, out=out, stream=torch.cuda.current_stream().cuda_stream)

  steps = [step(layer) for layer in layers]
  for s in steps:
    s()
  torch.cuda.synchronize()
  graph = torch.cuda.CUDAGraph()
  with torch.cuda.graph(graph):
    for s in steps:
      s()
  start = time.monotonic()
  replays = 0
  while replays < 3 or time.monotonic() - start < args.warm_s:
    graph.replay()
    replays += 1
    if replays % 16 == 0:
      torch.cuda.synchronize()  # keeps the queue short, so the loop's seconds are the device's
  torch.cuda.synchronize()
  with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    graph.replay()
    torch.cuda.synchronize()
  events = [(e.time_range.start, e.time_range.end, kernel_label(e.name)) for e in prof.events()
            if e.device_type == torch.autograd.DeviceType.CUDA]
  spans, period = forward_spans(events, args.copies)
  print(f"{shape.name} T={args.tokens} {args.mode} {args.routing}: {args.copies} copies, forward period {period:.1f} us")
  print(f"{'kernel':58s} {'start':>8s} {'end':>8s} {'dur':>8s}  (us from the forward's first kernel; medians)")
  for s in spans:
    print(f"{s.label[:58]:58s} {s.start_us:8.1f} {s.end_us:8.1f} {s.end_us - s.start_us:8.1f}")


if __name__ == "__main__":
  main()
