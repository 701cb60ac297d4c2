# The GPU run behind bench_moe.py: measures the ceilings, then per shape builds the weight copies (ours as
# fp4moe layers, the peer's as BF16 tensors, with --marlin-lib vLLM's Marlin layout too, all from the same
# seeded NVFP4 bytes), and per mode and row times every side as CUDA-graph replays on the same inputs, checks
# ours and Marlin against the BF16 peer, and writes the results.
from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

import gpu_timing
from moe_report import RULE_SWITCHES, Row, format_markdown, format_table, results_json, slug
from moe_routing import Routing, make_routing
from moe_shapes import (
    MoeShape,
    copies_to_defeat_l2,
    copies_within_budget,
    moe_floor,
    peer_activation_bytes,
)
from nvfp4_torch import calibrate_input_scales, dequantize_experts, random_nvfp4_experts
from peer_torch import PeerWeights, gemm1, gemm2, peer_forward, plan_routing, swiglu

DEVICE = "cuda"
GIB = 1 << 30
# ||ours - peer|| / ||peer|| above which a row is flagged. W4A16: both sides decode the same NVFP4 weights and
# round to BF16, so a few 1e-3 is expected. W4A4 quantizes activations (the peer does not; about 0.15 is normal):
# only gross errors.
ACCURACY_LIMITS = {"w4a16": 2e-2, "w4a4": 0.3}
CALIBRATION_TOKENS = 256  # --w4a4-scales calibrated: the sample the input scales come from
# A graph profile whose kernels add up to less than this share of the measured forward missed kernels.
PROFILE_MIN_COVERAGE = 0.25
ACTIVATION_MARGIN_BYTES = 2 * GIB

RowSpec = tuple[int, str]  # (tokens, routing kind)


def log(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


def load_fp4moe(path: str | None):
  if path:
    sys.path.insert(0, path)
  try:
    import fp4moe  # noqa: PLC0415 (only the GPU run needs it)
  except ImportError as e:
    sys.exit(f"bench_moe: cannot import fp4moe ({e}); build the Python module and put it on PYTHONPATH "
             "or pass --fp4moe-path")
  try:
    fp4moe.MoeLayer(8, 64, 64, 2, 16, mode="w4a16", device=DEVICE)
  except Exception as e:  # the module says why: no CUDA backend compiled in, no device, ...
    sys.exit(f"bench_moe: fp4moe cannot create a CUDA layer: {type(e).__name__}: {e}")
  return fp4moe


@dataclass
class Context:
  """What every shape's benchmark needs: the device, its ceilings and the run's settings."""

  fp4moe: Any
  args: argparse.Namespace
  policy: gpu_timing.TimingPolicy
  l2_bytes: int
  copy_bytes_s: float
  bf16_flops_s: float
  reserve_bytes: float = 0.0  # left free for the current shape's activations when sizing weight copies
  copies_log: dict[str, Any] = field(default_factory=dict)

  @property
  def biases(self) -> bool:
    """--bias on: every expert's projections have biases, in ours and the peer."""
    return self.args.bias == "on"

  def weight_seed(self, copy: int) -> int:
    """Copy c of ours and copy c of the peer hold the same NVFP4 bytes."""
    return self.args.seed * 1000 + copy

  def experts(self, shape: MoeShape, copy: int):
    """Weight copy `copy` of a shape, the same bytes for every side. With the Marlin peer, gate and up share one
    scale_2 (Marlin keeps one per expert), so that all sides compute the same layer and can be compared."""
    return random_nvfp4_experts(shape, self.weight_seed(copy), DEVICE, one_gate_up_scale=bool(self.args.marlin_lib),
                                biases=self.biases)


@dataclass
class RowInputs:
  routing: Routing
  x: torch.Tensor  # bf16 [T, H], random
  topk_weights: torch.Tensor  # float32 [T, k]
  topk_ids: torch.Tensor  # int32 [T, k]


@dataclass
class Measured:
  """One side's figures for one row."""

  us: float
  runs: int
  kernels: list
  profile_source: str  # "graph" or "eager"
  output: torch.Tensor  # weight copy 0's output, for the accuracy check
  gemm_us: float | None = None


def free_device_memory() -> None:
  gc.collect()
  torch.cuda.empty_cache()


def device_bytes_free() -> int:
  free_device_memory()
  return torch.cuda.mem_get_info()[0]


def describe_error(e: BaseException) -> str:
  text = str(e).strip()
  return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


def make_inputs(routing: Routing, hidden: int, seed: int) -> RowInputs:
  gen = torch.Generator(device=DEVICE)
  gen.manual_seed(seed)
  x = torch.randn((routing.tokens, hidden), generator=gen, device=DEVICE).to(torch.bfloat16)
  return RowInputs(routing, x, torch.from_numpy(routing.topk_weights).to(DEVICE),
                   torch.from_numpy(routing.topk_ids).to(DEVICE))


def measure_side(steps: list[Callable[[], object]], policy: gpu_timing.TimingPolicy):
  """Whole-forward timing (one graph over all weight copies) and the per-kernel profile of one side, with where
  the profile came from: the graph's replays, or eager runs of the same steps when the profiler saw too little
  inside the graph (CUPTI does not trace graph kernels on every driver)."""
  graph = gpu_timing.capture_graph(steps)
  timing = gpu_timing.time_runs(graph.replay, len(steps), policy)
  (kernels, gemm_us), source = gpu_timing.profile_kernels(graph.replay, len(steps)), "graph"
  if sum(k.us_per_forward for k in kernels) < PROFILE_MIN_COVERAGE * timing.us_per_forward:
    (kernels, gemm_us), source = gpu_timing.profile_kernels(lambda: [s() for s in steps], len(steps)), "eager"
  del graph
  return timing, kernels, gemm_us, source


# ---- ours


def build_ours(ctx: Context, shape: MoeShape, mode: str, max_tokens: int, min_touched: int,
               sample: RowInputs) -> list:
  input_scales = None
  if mode == "w4a4" and ctx.args.w4a4_scales == "calibrated":
    # One pair of scales for every copy, from copy 0 on the sample's first tokens: a checkpoint's are fixed too.
    input_scales = calibrate_input_scales(ctx.experts(shape, 0),
                                          sample.x[:CALIBRATION_TOKENS], sample.topk_ids[:CALIBRATION_TOKENS])
    ctx.copies_log[f"{shape.name}/{mode}/input_scales"] = input_scales

  def new_layer(copy: int):
    layer = ctx.fp4moe.MoeLayer(shape.experts, shape.hidden, shape.intermediate, shape.top_k, max_tokens,
                                activation="silu", mode=mode, device=DEVICE)
    ctx.experts(shape, copy).load_into(layer, input_scales)
    torch.cuda.synchronize()
    return layer

  layers, log = nvfp4_copies(ctx, shape, min_touched, ctx.args.ours_mem_gib, new_layer)
  ctx.copies_log[f"{shape.name}/{mode}"] = {**log, "workspace_bytes": int(layers[0].workspace_bytes)}
  return layers


def nvfp4_copies(ctx: Context, shape: MoeShape, min_touched: int, mem_gib: float,
                 new_copy: Callable[[int], Any]) -> tuple[list, dict]:
  """The weight copies of a side that holds NVFP4 weights in a private layout (ours, Marlin): as many as it takes
  to outgrow L2, within mem_gib and what the device has free; and how many were wanted and made."""
  free_before = device_bytes_free()
  copies = [new_copy(0)]
  # What one copy really costs (the side's private weight layout, for ours its workspace too), not just the
  # NVFP4 bytes.
  per_copy = max(free_before - device_bytes_free(), shape.experts * shape.expert_bytes(ctx.biases))
  wanted = copies_to_defeat_l2(min_touched * shape.expert_bytes(ctx.biases), ctx.l2_bytes)
  budget = min(mem_gib * GIB, per_copy + device_bytes_free() - ctx.reserve_bytes)
  count = copies_within_budget(wanted, per_copy, budget)
  copies += [new_copy(c) for c in range(1, count)]
  return copies, {"wanted": wanted, "used": count, "bytes_per_copy": per_copy}


def time_graph(steps: list[Callable[[], object]], policy: gpu_timing.TimingPolicy) -> float:
  """Microseconds per step of one graph over the steps (one per weight copy), without a profile."""
  graph = gpu_timing.capture_graph(steps)
  us = gpu_timing.time_runs(graph.replay, len(steps), policy).us_per_forward
  del graph
  return us


def measure_ours(ctx: Context, layers: list, inputs: RowInputs) -> Measured:
  out = torch.full_like(inputs.x, float("nan"))  # poisoned: an unwritten element shows in the accuracy check

  def step(layer) -> Callable[[], object]:
    # The stream is read when the step runs: inside the capture it is the capture stream.
    return lambda: layer.run(inputs.x, inputs.topk_weights, inputs.topk_ids, out=out,
                             stream=torch.cuda.current_stream().cuda_stream)

  step(layers[0])()
  torch.cuda.synchronize()
  output = out.clone()
  timing, kernels, gemm_us, source = measure_side([step(layer) for layer in layers], ctx.policy)
  return Measured(timing.us_per_forward, timing.runs, kernels, source, output, gemm_us)


# ---- the peer


@dataclass
class Peer:
  """A peer's weight copies for one shape, and its figures per row (measured once, shared by the modes)."""

  copies: list = field(default_factory=list)
  measure: Callable[[Context, list, RowInputs], Measured] | None = None
  name: str = "peer"
  setup_error: str = ""
  results: dict[RowSpec, Measured | str] = field(default_factory=dict)  # a str is the error

  def result(self, ctx: Context, spec: RowSpec, inputs: RowInputs) -> Measured | str | None:
    if self.setup_error:
      return self.setup_error
    if not self.copies:
      return None
    if spec not in self.results:
      try:
        self.results[spec] = self.measure(ctx, self.copies, inputs)
      except Exception as e:
        free_device_memory()
        self.results[spec] = f"{self.name}: {describe_error(e)}"
    return self.results[spec]


def build_peer(ctx: Context, shape: MoeShape, min_touched: int) -> Peer:
  if ctx.args.no_peer:
    return Peer()
  try:
    per_copy = shape.experts * shape.bf16_expert_bytes()
    wanted = copies_to_defeat_l2(min_touched * shape.bf16_expert_bytes(), ctx.l2_bytes)
    budget = min(ctx.args.peer_mem_gib * GIB, device_bytes_free() - ctx.reserve_bytes)
    count = copies_within_budget(wanted, per_copy, budget)
    copies = []
    for c in range(count):
      experts = ctx.experts(shape, c)
      copies.append(PeerWeights(*dequantize_experts(experts), *experts.bf16_biases()))
      free_device_memory()
    ctx.copies_log[f"{shape.name}/peer"] = {"wanted": wanted, "used": count, "bytes_per_copy": per_copy}
    return Peer(copies, measure_peer)
  except Exception as e:
    free_device_memory()
    return Peer(setup_error=f"peer setup: {describe_error(e)}")


def measure_peer(ctx: Context, copies: list[PeerWeights], inputs: RowInputs) -> Measured:
  def layer_step(w: PeerWeights) -> Callable[[], object]:
    return lambda: peer_forward(inputs.x, inputs.topk_weights, inputs.topk_ids, w)

  output = layer_step(copies[0])()
  timing, kernels, _, source = measure_side([layer_step(w) for w in copies], ctx.policy)

  # The two grouped GEMMs alone, on the routed rows and the SwiGLU output that the layer feeds them.
  plan = plan_routing(inputs.topk_ids, copies[0].w13.shape[0])
  x_sorted = inputs.x.index_select(0, plan.token_of)
  hidden = swiglu(gemm1(x_sorted, copies[0], plan))

  def gemms_step(w: PeerWeights) -> Callable[[], object]:
    return lambda: (gemm1(x_sorted, w, plan), gemm2(hidden, w, plan))

  free_device_memory()
  gemms_us = time_graph([gemms_step(w) for w in copies], ctx.policy)
  return Measured(timing.us_per_forward, timing.runs, kernels, source, output, gemms_us)


# ---- the Marlin peer (vLLM's NVFP4 MoE path on Hopper), with --marlin-lib


def build_marlin(ctx: Context, shape: MoeShape, min_touched: int) -> Peer:
  if not ctx.args.marlin_lib:
    return Peer(name="marlin")
  try:
    import peer_marlin  # noqa: PLC0415 (only with --marlin-lib)

    lib = peer_marlin.MarlinLibrary(ctx.args.marlin_lib)
    copies, log = nvfp4_copies(ctx, shape, min_touched, ctx.args.marlin_mem_gib,
                               lambda c: peer_marlin.prepare_weights(lib, ctx.experts(shape, c)))
    free_device_memory()
    ctx.copies_log[f"{shape.name}/marlin"] = log
    return Peer(copies, lambda c, w, i: measure_marlin(c, lib, w, i), "marlin")
  except Exception as e:
    free_device_memory()
    return Peer(name="marlin", setup_error=f"marlin setup: {describe_error(e)}")


def measure_marlin(ctx: Context, lib, copies: list, inputs: RowInputs) -> Measured:
  import peer_marlin  # noqa: PLC0415

  t, k = inputs.topk_ids.shape
  first = copies[0]
  forward = peer_marlin.MarlinForward(lib, t, k, first.experts, first.hidden, first.intermediate, DEVICE)
  forward.out.fill_(float("nan"))  # poisoned: an unwritten element shows in the accuracy check

  def layer_step(w) -> Callable[[], object]:
    return lambda: forward.run(inputs.x, inputs.topk_weights, inputs.topk_ids, w)

  output = layer_step(first)().clone()
  timing, kernels, _, source = measure_side([layer_step(w) for w in copies], ctx.policy)

  # The two Marlin GEMMs alone, on the alignment and the activation that the layer feeds them.
  forward.align(inputs.topk_ids)
  forward.gemm1(inputs.x, first, inputs.topk_weights)
  forward.activation()

  def gemms_step(w) -> Callable[[], object]:
    return lambda: (forward.gemm1(inputs.x, w, inputs.topk_weights), forward.gemm2(w, inputs.topk_weights))

  gemms_us = time_graph([gemms_step(w) for w in copies], ctx.policy)
  return Measured(timing.us_per_forward, timing.runs, kernels, source, output, gemms_us)


# ---- rows


def new_row(ctx: Context, shape: MoeShape, mode: str, routing: Routing) -> Row:
  floor = moe_floor(shape, routing.tokens, routing.touched, ctx.copy_bytes_s, ctx.bf16_flops_s, biases=ctx.biases)
  return Row(shape=shape.name, experts=shape.experts, hidden=shape.hidden, intermediate=shape.intermediate,
             top_k=shape.top_k, mode=mode, tokens=routing.tokens, routing=routing.kind, touched=routing.touched,
             floor_us=floor.seconds * 1e6, floor_bound=floor.bound, floor_bytes=floor.bytes, floor_flops=floor.flops,
             bf16_ceiling_tflop_s=ctx.bf16_flops_s / 1e12)


def relative_error(ours: torch.Tensor, peer: torch.Tensor) -> float:
  return float((ours.float() - peer.float()).norm() / peer.float().norm())


def fill_row(row: Row, ours: Measured | None, ours_copies: int, peer: Measured | None, peer_copies: int,
             marlin: Measured | None = None, marlin_copies: int = 0) -> None:
  if ours is not None:
    row.ours_us, row.ours_gemm_us, row.ours_runs, row.ours_kernels = ours.us, ours.gemm_us, ours.runs, ours.kernels
    row.ours_copies, row.ours_profile = ours_copies, ours.profile_source
  if peer is not None:
    row.peer_us, row.peer_gemm_us, row.peer_runs, row.peer_kernels = peer.us, peer.gemm_us, peer.runs, peer.kernels
    row.peer_copies, row.peer_profile = peer_copies, peer.profile_source
  if marlin is not None:
    row.marlin_us, row.marlin_gemm_us, row.marlin_runs = marlin.us, marlin.gemm_us, marlin.runs
    row.marlin_kernels, row.marlin_copies, row.marlin_profile = marlin.kernels, marlin_copies, marlin.profile_source
  flags = []
  if ours is not None and peer is not None:
    row.rel_err_vs_peer = relative_error(ours.output, peer.output)
    limit = ACCURACY_LIMITS[row.mode]
    if not row.rel_err_vs_peer <= limit:  # also catches NaN
      flags.append(f"ours vs peer relative error {row.rel_err_vs_peer:.3g} > {limit:g}")
  if marlin is not None and peer is not None:
    row.marlin_err_vs_peer = relative_error(marlin.output, peer.output)
    limit = ACCURACY_LIMITS["w4a16"]  # Marlin is W4A16 in every mode, as vLLM runs NVFP4 on Hopper
    if not row.marlin_err_vs_peer <= limit:
      flags.append(f"marlin vs peer relative error {row.marlin_err_vs_peer:.3g} > {limit:g}")
  row.accuracy_flag = "; ".join(flags)
  row.derive()


def _us(value: float | None) -> str:
  return "-" if value is None else f"{value:.1f} us"


def bench_row(ctx: Context, row: Row, layers: list, peer: Peer, marlin: Peer, spec: RowSpec,
              inputs: RowInputs) -> None:
  started = time.time()
  ours, errors = None, []
  try:
    ours = measure_ours(ctx, layers, inputs)
  except Exception as e:
    free_device_memory()
    errors.append(f"ours: {describe_error(e)}")
  results = []
  for side in (peer, marlin):
    result = side.result(ctx, spec, inputs)
    if isinstance(result, str):
      errors.append(result)
      result = None
    results.append(result)
  fill_row(row, ours, len(layers), results[0], len(peer.copies), results[1], len(marlin.copies))
  row.error = "; ".join(errors)
  label = f"{row.shape} {row.mode} T={row.tokens} {row.routing}"
  err = "-" if row.rel_err_vs_peer is None else f"{row.rel_err_vs_peer:.2e}"
  marlin_part = f", marlin {_us(row.marlin_us)}" if ctx.args.marlin_lib else ""
  log(f"  {label}: ours {_us(row.ours_us)}, peer {_us(row.peer_us)}{marlin_part}, err vs peer {err}, "
      f"{time.time() - started:.1f} s" + (f"  [{row.error}]" if row.error else ""))
  if row.accuracy_flag:
    log(f"!!!!! ACCURACY {label}: {row.accuracy_flag}")


def bench_mode(ctx: Context, shape: MoeShape, mode: str, rows: dict, inputs: dict, peers: tuple[Peer, Peer],
               min_touched: int):
  try:
    largest = max(inputs, key=lambda spec: spec[0])
    layers = build_ours(ctx, shape, mode, max(ctx.args.token_list), min_touched, inputs[largest])
  except Exception as e:
    free_device_memory()
    for spec in inputs:
      rows[(mode, spec)].error = f"ours setup: {describe_error(e)}"
    return
  for spec, row_inputs in inputs.items():
    bench_row(ctx, rows[(mode, spec)], layers, *peers, spec, row_inputs)
  del layers
  free_device_memory()


def bench_shape(ctx: Context, shape: MoeShape) -> list[Row]:
  args = ctx.args
  routings = {spec: make_routing(spec[1], spec[0], shape.experts, shape.top_k, args.seed) for spec in args.row_specs}
  if not routings:
    return []
  # The fewest touched experts decide how many copies it takes to outgrow L2; more never hurts the others.
  min_touched = min(r.touched for r in routings.values())
  rows = {(mode, spec): new_row(ctx, shape, mode, r) for mode in args.modes for spec, r in routings.items()}
  inputs = {spec: make_inputs(r, shape.hidden, args.seed + 7919 * i) for i, (spec, r) in enumerate(routings.items())}
  ctx.reserve_bytes = peer_activation_bytes(shape, max(args.token_list)) + ACTIVATION_MARGIN_BYTES
  peers = (build_peer(ctx, shape, min_touched), build_marlin(ctx, shape, min_touched))
  for mode in args.modes:
    bench_mode(ctx, shape, mode, rows, inputs, peers, min_touched)
  del peers, inputs
  free_device_memory()
  return list(rows.values())


def measure_ceilings(policy: gpu_timing.TimingPolicy) -> dict[str, float]:
  ceilings = {"copy_tb_s": gpu_timing.measure_copy_tb_s(policy),
              "bf16_tflop_s": gpu_timing.measure_bf16_tflop_s(policy)}
  free_device_memory()
  return ceilings


def write_results(out_dir: Path, device: str, ceilings: dict, settings: dict, rows: list[Row]) -> None:
  out_dir.mkdir(parents=True, exist_ok=True)
  base = out_dir / slug(device)
  base.with_suffix(".json").write_text(results_json(device, ceilings, settings, rows))
  base.with_suffix(".md").write_text(format_markdown(device, ceilings, settings, rows))
  print(f"wrote {base}.json and {base}.md")


def run(args: argparse.Namespace) -> int:
  """Exit status: 0 when every row measured and agreed with the peer, 1 otherwise (the results are written)."""
  if not torch.cuda.is_available():
    sys.exit("bench_moe: torch sees no CUDA device")
  fp4moe = load_fp4moe(args.fp4moe_path)
  props = torch.cuda.get_device_properties(0)
  policy = gpu_timing.TimingPolicy(min_runs=args.min_runs, target_s=args.target_ms * 1e-3)
  started = time.time()
  ceilings = measure_ceilings(policy)
  print(f"device: {props.name}, L2 {props.L2_cache_size / 2**20:.0f} MiB, {props.total_memory / GIB:.0f} GiB")
  print(f"ceilings: copy {ceilings['copy_tb_s']:.2f} TB/s (1 GiB D2D, read + write), "
        f"BF16 {ceilings['bf16_tflop_s']:.1f} TFLOP/s (8192^3 matmul)", flush=True)
  ctx = Context(fp4moe, args, policy, props.L2_cache_size, ceilings["copy_tb_s"] * 1e12,
                ceilings["bf16_tflop_s"] * 1e12)

  rows: list[Row] = []
  for shape in args.shape_list:
    log(f"{shape.name}: {time.time() - started:.0f} s elapsed")
    rows += bench_shape(ctx, shape)

  settings = {
      "shapes": [s.name for s in args.shape_list], "tokens": args.token_list, "modes": args.modes,
      "skewed": args.skewed, "row_specs": args.row_specs, "seed": args.seed, "l2_bytes": props.L2_cache_size,
      "timing": vars(policy), "weight_copies": ctx.copies_log, "accuracy_limits": ACCURACY_LIMITS,
      "torch": torch.__version__, "cuda": torch.version.cuda, "fp4moe": getattr(fp4moe, "__version__", None),
      "elapsed_s": time.time() - started, "gemm": args.gemm, "w4a4_scales": args.w4a4_scales, "bias": args.bias,
      "marlin_lib": args.marlin_lib,
      **{s.key: getattr(args, s.key) for s in RULE_SWITCHES},
  }
  print(format_table(rows))
  write_results(Path(args.out_dir), props.name, ceilings, settings, rows)
  flagged = [r for r in rows if r.accuracy_flag]
  if flagged:
    print(f"\n!!!!! {len(flagged)} row(s) with ours far from the peer: see the ACCURACY lines above !!!!!")
  return 1 if flagged or any(r.error for r in rows) else 0
