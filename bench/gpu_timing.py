# Timing on the GPU, one method for everything measured: a "run" is a callable (usually one CUDA-graph replay
# that executes every weight copy's forward in sequence), timed with CUDA events after warm-up; the result is
# the median over runs divided by the forwards per run. Also the two ceilings and the per-kernel profile.
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from moe_report import KernelTime, covered_us


@dataclass
class Timing:
  us_per_forward: float  # median run / forwards per run
  runs: int


@dataclass
class TimingPolicy:
  min_runs: int = 20
  max_runs: int = 500
  target_s: float = 0.15  # measured time per figure, beyond min_runs
  warmup_s: float = 0.03
  min_warmup_runs: int = 2


def time_runs(run: Callable[[], object], forwards_per_run: int, policy: TimingPolicy) -> Timing:
  warm = _warm_up(run, policy)
  runs = min(policy.max_runs, max(policy.min_runs, math.ceil(policy.target_s / max(warm, 1e-6))))
  starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
  ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
  for start, end in zip(starts, ends):
    start.record()
    run()
    end.record()
  torch.cuda.synchronize()
  median_ms = statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))
  return Timing(median_ms * 1e3 / forwards_per_run, runs)


def _warm_up(run: Callable[[], object], policy: TimingPolicy) -> float:
  """Runs until both the run count and the time of warm-up are reached; returns seconds per run."""
  start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
  done, total_s, last_s = 0, 0.0, 0.0
  while done < policy.min_warmup_runs or total_s < policy.warmup_s:
    start.record()
    run()
    end.record()
    end.synchronize()
    done += 1
    last_s = start.elapsed_time(end) * 1e-3
    total_s += last_s
  return last_s


def capture_graph(steps: Sequence[Callable[[], object]]) -> torch.cuda.CUDAGraph:
  """One graph that runs every step in order (one step per weight copy), so a replay is one launch and the
  copies' forwards run back to back. Steps are run once eagerly first, on a side stream as torch asks, so that
  lazy initialisation (cuBLAS handles, first-call setup) happens outside the capture."""
  side = torch.cuda.Stream()
  side.wait_stream(torch.cuda.current_stream())
  with torch.cuda.stream(side):
    for step in steps:
      step()
  torch.cuda.current_stream().wait_stream(side)
  torch.cuda.synchronize()
  graph = torch.cuda.CUDAGraph()
  with torch.cuda.graph(graph):
    for step in steps:
      step()
  torch.cuda.synchronize()
  return graph


def profile_kernels(run: Callable[[], object], forwards_per_run: int, runs: int = 3,
                    marker: str = "gemm") -> tuple[list[KernelTime], float | None]:
  """Device activities (kernels, memsets, copies) seen by the profiler over `runs` runs, per forward, longest
  first (empty when the profiler saw nothing: some CUPTI versions miss kernels inside graphs); and the time per
  forward during which an activity whose name contains `marker` ran (None if none did). Kernels chained by
  programmatic dependent launch overlap, so that time is the union of their intervals, not the sum."""
  run()
  torch.cuda.synchronize()
  with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    for _ in range(runs):
      run()
    torch.cuda.synchronize()
  totals: dict[str, list[float]] = {}
  marked: list[tuple[float, float]] = []
  for event in prof.events():
    if event.device_type != torch.autograd.DeviceType.CUDA:
      continue
    entry = totals.setdefault(event.name, [0.0, 0])
    entry[0] += event.time_range.elapsed_us()
    entry[1] += 1
    if marker in event.name.lower():
      marked.append((event.time_range.start, event.time_range.end))
  forwards = runs * forwards_per_run
  kernels = [KernelTime(name, us / forwards, count / forwards) for name, (us, count) in totals.items()]
  return sorted(kernels, key=lambda k: -k.us_per_forward), (covered_us(marked) / forwards if marked else None)


def measure_copy_tb_s(policy: TimingPolicy, nbytes: int = 1 << 30) -> float:
  """Device-to-device copy bandwidth, counting bytes read plus written."""
  src = torch.randint(0, 256, (nbytes,), dtype=torch.uint8, device="cuda")
  dst = torch.empty_like(src)
  timing = time_runs(lambda: dst.copy_(src), 1, policy)
  return 2 * nbytes / (timing.us_per_forward * 1e-6) / 1e12


def measure_bf16_tflop_s(policy: TimingPolicy, n: int = 8192) -> float:
  a = torch.randn((n, n), dtype=torch.bfloat16, device="cuda")
  b = torch.randn((n, n), dtype=torch.bfloat16, device="cuda")
  c = torch.empty((n, n), dtype=torch.bfloat16, device="cuda")
  timing = time_runs(lambda: torch.matmul(a, b, out=c), 1, policy)
  return 2.0 * n**3 / (timing.us_per_forward * 1e-6) / 1e12
