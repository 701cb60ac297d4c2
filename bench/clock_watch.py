"""The SM clock and board power while one benchmark row runs without pause, per phase:

  python3 bench/clock_watch.py qwen3-30b-a3b 16384 --seconds 3

Phases, each a CUDA graph replayed back to back for --seconds: our whole layer, the peer's whole layer, the
peer's two grouped GEMMs alone (the graph bench_moe.py times as "peer gemms us"). For each: the median time
per forward, and from nvidia-smi samples (every --interval-ms) the median and lowest SM clock, the median
power and how many samples saw a clock-limit reason (power cap, thermal, hardware slowdown). A compute-bound
row that holds the clock below its maximum at the power cap is bound by energy per operation, not by issue
or bandwidth alone, and a phase measured alone runs at a different clock than inside a forward.

Same weights, routing and inputs as bench_moe.py, but one weight copy a side, each replay synchronized before
the next (so each also pays its launch), and seconds of load instead of a fraction of one: at sub-millisecond
rows its times run a few percent above bench_moe.py's (qwen3 at 64 tokens: 104-105 us against 99 on one copy,
bench/results/h200-t64-method/). The clock and power are what it is for; the times are for orientation.
Diagnostic: not part of any table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time

import torch

import gpu_timing
from bench_moe import add_row_arguments
from moe_routing import make_routing
from moe_run import make_inputs
from moe_shapes import SHAPES
from nvfp4_torch import dequantize_experts, random_nvfp4_experts
from peer_torch import PeerWeights, gemm1, gemm2, peer_forward, plan_routing, swiglu

# nvidia-smi's fields; the clock-limit reasons under their names since driver 535, then the older ones.
FIELDS = ["clocks.sm", "power.draw", "temperature.gpu"]
REASONS = ["sw_power_cap", "sw_thermal_slowdown", "hw_slowdown"]
REASON_PREFIXES = ["clocks_event_reasons", "clocks_throttle_reasons"]


class Sampler:
  """nvidia-smi in loop mode on a thread; each line stamped with time.monotonic() as it arrives."""

  def __init__(self, gpu: str, interval_ms: int):
    self.samples: list[tuple[float, list[str]]] = []
    for prefix in REASON_PREFIXES:
      query = ",".join(FIELDS + [f"{prefix}.{r}" for r in REASONS])
      try:
        probe = subprocess.run(["nvidia-smi", "-i", gpu, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                               capture_output=True, text=True)
      except FileNotFoundError:
        raise SystemExit("clock_watch: nvidia-smi is not on PATH; it is what samples the clock and power")
      if probe.returncode == 0:
        break
    else:
      raise RuntimeError(f"nvidia-smi refused the query: {probe.stdout.strip()} {probe.stderr.strip()}")
    self.proc = subprocess.Popen(["nvidia-smi", "-i", gpu, f"--query-gpu={query}", "--format=csv,noheader,nounits",
                                  f"-lms={interval_ms}"], stdout=subprocess.PIPE, text=True)
    self.thread = threading.Thread(target=self._read, daemon=True)
    self.thread.start()

  def _read(self) -> None:
    for line in self.proc.stdout:
      fields = [f.strip() for f in line.split(",")]
      if len(fields) == len(FIELDS) + len(REASONS):  # one GPU's line; anything else is not a sample
        self.samples.append((time.monotonic(), fields))

  def between(self, start: float, end: float) -> list[list[str]]:
    return [fields for t, fields in self.samples if start <= t <= end]

  def stop(self) -> None:
    self.proc.terminate()
    self.proc.wait()


def run_phase(name: str, steps: list, seconds: float, sampler: Sampler) -> str:
  graph = gpu_timing.capture_graph(steps)
  for _ in range(3):
    graph.replay()
  torch.cuda.synchronize()
  times, start = [], time.monotonic()
  while time.monotonic() - start < seconds:
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    begin.record()
    graph.replay()
    end.record()
    end.synchronize()
    times.append(begin.elapsed_time(end) * 1e3 / len(steps))
  # The first half second settles the clock; the samples after it describe the phase.
  samples = sampler.between(start + min(0.5, seconds / 2), time.monotonic())
  del graph
  if not samples:
    return f"{name:<12} {statistics.median(times):9.1f} us   (no nvidia-smi samples)"
  clocks = [float(s[0]) for s in samples if _is_number(s[0])]
  power = [float(s[1]) for s in samples if _is_number(s[1])]
  limited = [sum(s[3 + i].lower() == "active" for s in samples) for i in range(len(REASONS))]
  reasons = ", ".join(f"{r} {n}/{len(samples)}" for r, n in zip(REASONS, limited))
  clock = f"{statistics.median(clocks):6.0f} MHz (min {min(clocks):.0f})" if clocks else "   n/a MHz"
  watts = f"{statistics.median(power):6.1f} W" if power else "   n/a W"
  return f"{name:<12} {statistics.median(times):9.1f} us  SM {clock}  {watts}  {samples[-1][2]} C  limited: {reasons}"


def _is_number(field: str) -> bool:
  """nvidia-smi prints [N/A] (or [Not Supported]) for a field it cannot read."""
  try:
    float(field)
    return True
  except ValueError:
    return False


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  add_row_arguments(p)
  p.add_argument("--seconds", type=float, default=3.0)
  p.add_argument("--interval-ms", type=int, default=50)
  # nvidia-smi numbers the GPUs regardless of CUDA_VISIBLE_DEVICES; CUDA's device 0 is the first one listed there.
  visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip() or "0"
  p.add_argument("--gpu", default=visible, help="the GPU nvidia-smi samples: its index, UUID or PCI bus id "
                 "(default: the first of CUDA_VISIBLE_DEVICES, else 0)")
  p.add_argument("--seed", type=int, default=1234, help="as bench_moe.py's")
  args = p.parse_args()

  import fp4moe  # noqa: PLC0415 (after argparse, so --help works without the module)

  shape = SHAPES[args.shape]
  routing = make_routing(args.routing, args.tokens, shape.experts, shape.top_k, args.seed)
  inputs = make_inputs(routing, shape.hidden, args.seed)
  nvfp4 = random_nvfp4_experts(shape, args.seed * 1000, "cuda")
  layer = fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, args.tokens,
                          activation="silu", mode=args.mode, device="cuda")
  nvfp4.load_into(layer)
  peer = PeerWeights(*dequantize_experts(nvfp4))
  del nvfp4
  out = torch.empty_like(inputs.x)
  plan = plan_routing(inputs.topk_ids, shape.experts)
  x_sorted = inputs.x.index_select(0, plan.token_of)
  hidden = swiglu(gemm1(x_sorted, peer, plan))

  def ours():  # the stream is read when the step runs: inside the capture it is the capture stream
    return layer.run(inputs.x, inputs.topk_weights, inputs.topk_ids, out=out,
                     stream=torch.cuda.current_stream().cuda_stream)

  sampler = Sampler(args.gpu, args.interval_ms)
  try:
    print(f"{shape.name} T={args.tokens} {args.mode} {args.routing}, {torch.cuda.get_device_name()}")
    for name, step in (
        ("ours", ours),
        ("peer", lambda: peer_forward(inputs.x, inputs.topk_weights, inputs.topk_ids, peer)),
        ("peer gemms", lambda: (gemm1(x_sorted, peer, plan), gemm2(hidden, peer, plan))),
        ("ours again", ours),
    ):
      print(run_phase(name, [step], args.seconds, sampler), flush=True)
  finally:
    sampler.stop()


if __name__ == "__main__":
  main()
