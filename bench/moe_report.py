# One result row per (shape, mode, tokens, routing), and how rows are shown: a fixed-width table for stdout,
# the same table in Markdown, and the JSON record (device, ceilings, every row with its kernel list).
# Pure Python: the self-test checks the formatting without a GPU.
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class RuleSwitch:
  """A dispatch rule of the layer (src/cuda/moe/dispatch.h) that a benchmark can turn off: bench_moe.py's
  --<flag> on|off sets the environment variable the layer reads when it is created, the run's settings keep
  it under `key`, and the Markdown says so when it is off."""
  flag: str
  env: str
  help: str
  off_note: str

  @property
  def key(self) -> str:
    return self.flag.replace("-", "_")


RULE_SWITCHES = (
    RuleSwitch("large-tiles", "FP4MOE_LARGE_TILES",
               "the large tiles for experts with many rows (FP4MOE_LARGE_TILES); off: the table's tile alone",
               "Large tiles off (FP4MOE_LARGE_TILES=0): every tile is the dispatch table's."),
    RuleSwitch("persistent-down", "FP4MOE_PERSISTENT_DOWN",
               "GEMM 2's persistent kernel where K is short (FP4MOE_PERSISTENT_DOWN); off: one CTA per tile",
               "GEMM 2's persistent kernel off (FP4MOE_PERSISTENT_DOWN=0): one CTA per tile everywhere."),
    RuleSwitch("epilogue-quantize", "FP4MOE_EPILOGUE_QUANTIZE",
               "W4A4 calibrated: GEMM 1's epilogue quantizes h (FP4MOE_EPILOGUE_QUANTIZE); off: its own kernel",
               "GEMM 1's epilogue quantization off (FP4MOE_EPILOGUE_QUANTIZE=0): h quantized by a kernel of its own."),
    RuleSwitch("split-waves", "FP4MOE_SPLIT_WAVES",
               "the K-split decode tile only where GEMM 2 expects at most two waves of it (FP4MOE_SPLIT_WAVES); "
               "off: wherever the table has it",
               "The K-split tile's wave rule off (FP4MOE_SPLIT_WAVES=0): the table's tile at every batch."),
    RuleSwitch("own-tiles", "FP4MOE_OWN_TILES",
               "W4A16 small batches: GEMM 1 finds its own tiles from the ids (FP4MOE_OWN_TILES); off: the plan's "
               "tile list",
               "GEMM 1's own tiles off (FP4MOE_OWN_TILES=0): it reads the plan's tile list."),
    RuleSwitch("tile-handoff", "FP4MOE_TILE_HANDOFF",
               "GEMM 2 takes GEMM 1's tiles as they finish (FP4MOE_TILE_HANDOFF); off: it waits for all of GEMM 1",
               "The tile hand-off off (FP4MOE_TILE_HANDOFF=0): GEMM 2 waits for all of GEMM 1."),
    RuleSwitch("sorted-rows", "FP4MOE_SORTED_ROWS",
               "GEMM 1's wgmma tiles read x's rows copied in sorted order (FP4MOE_SORTED_ROWS); off: they gather them",
               "GEMM 1's sorted rows off (FP4MOE_SORTED_ROWS=0): it gathers its rows from x."),
    RuleSwitch("fewer-ctas", "FP4MOE_FEWER_CTAS",
               "GEMMs a little past one wave held to one CTA fewer an SM (FP4MOE_FEWER_CTAS); off: as many as fit",
               "Fewer CTAs an SM off (FP4MOE_FEWER_CTAS=0): every GEMM holds as many CTAs an SM as fit."),
    RuleSwitch("gemm2-k-split", "FP4MOE_GEMM2_K_SPLIT",
               "GEMM 2's wgmma tiles split K where one wave holds them (FP4MOE_GEMM2_K_SPLIT); off: K whole",
               "GEMM 2's K split off (FP4MOE_GEMM2_K_SPLIT=0): its K is never split."),
    RuleSwitch("y-in-l2", "FP4MOE_Y_IN_L2",
               "y kept in L2 from GEMM 2 to the combine where it fits (FP4MOE_Y_IN_L2); off: default cache policy",
               "y in L2 off (FP4MOE_Y_IN_L2=0): the weights' copies and y's lines keep the default cache policy."),
)


@dataclass
class KernelTime:
  name: str
  us_per_forward: float
  calls_per_forward: float


@dataclass
class Row:
  shape: str
  experts: int
  hidden: int
  intermediate: int
  top_k: int
  mode: str
  tokens: int
  routing: str
  touched: int = 0
  floor_us: Optional[float] = None
  floor_bound: str = ""  # "memory" or "compute"
  floor_bytes: Optional[float] = None
  floor_flops: Optional[float] = None
  ours_us: Optional[float] = None
  ours_gemm_us: Optional[float] = None  # profiler: time during which a kernel whose name contains "gemm" ran
  ours_runs: int = 0
  ours_copies: int = 0  # weight copies rotated over
  ours_over_floor: Optional[float] = None
  achieved_tb_s: Optional[float] = None  # floor bytes / ours time
  achieved_tflop_s: Optional[float] = None  # GEMM operations / ours time
  bf16_ceiling_tflop_s: Optional[float] = None  # the dense BF16 matmul ceiling measured in the same run
  of_bf16_ceiling: Optional[float] = None  # achieved_tflop_s / that ceiling
  peer: str = "torch._grouped_mm bf16"
  peer_us: Optional[float] = None
  peer_gemm_us: Optional[float] = None  # the two grouped GEMMs alone, as their own graph
  peer_runs: int = 0
  peer_copies: int = 0
  peer_over_ours: Optional[float] = None
  ours_over_peer_gemms: Optional[float] = None  # whole layer vs the peer's two GEMMs alone (prefill target <= 1.15)
  rel_err_vs_peer: Optional[float] = None  # ||ours - peer|| / ||peer|| on weight copy 0
  # vLLM's NVFP4 Marlin MoE (bench/peer_marlin.py, W4A16 in every mode), when the run has --marlin-lib
  marlin_us: Optional[float] = None
  marlin_gemm_us: Optional[float] = None  # its two GEMMs alone, as their own graph
  marlin_runs: int = 0
  marlin_copies: int = 0
  marlin_over_ours: Optional[float] = None
  marlin_err_vs_peer: Optional[float] = None  # ||marlin - peer|| / ||peer|| on weight copy 0
  accuracy_flag: str = ""
  ours_kernels: list[KernelTime] = field(default_factory=list)  # every device activity, per forward
  peer_kernels: list[KernelTime] = field(default_factory=list)
  marlin_kernels: list[KernelTime] = field(default_factory=list)
  ours_profile: str = ""  # "graph": profiled graph replays; "eager": the profiler missed graph kernels
  peer_profile: str = ""
  marlin_profile: str = ""
  error: str = ""

  def derive(self) -> None:
    """Fills the ratio columns from the measured times."""
    if self.ours_us and self.floor_us:
      self.ours_over_floor = self.ours_us / self.floor_us
    if self.ours_us:
      if self.floor_bytes is not None:
        self.achieved_tb_s = self.floor_bytes / (self.ours_us * 1e-6) / 1e12
      if self.floor_flops is not None:
        self.achieved_tflop_s = self.floor_flops / (self.ours_us * 1e-6) / 1e12
        if self.bf16_ceiling_tflop_s:
          self.of_bf16_ceiling = self.achieved_tflop_s / self.bf16_ceiling_tflop_s
      if self.peer_us:
        self.peer_over_ours = self.peer_us / self.ours_us
      if self.marlin_us:
        self.marlin_over_ours = self.marlin_us / self.ours_us
      if self.peer_gemm_us:
        self.ours_over_peer_gemms = self.ours_us / self.peer_gemm_us


def covered_us(intervals: list[tuple[float, float]]) -> float:
  """Length of the union of (start, end) intervals: time during which at least one of them ran."""
  total, reach = 0.0, -math.inf
  for start, end in sorted(intervals):
    if end <= reach:
      continue
    total += end - max(start, reach)
    reach = end
  return total


def _fixed(digits: int) -> Callable[[Any], str]:
  return lambda v: f"{v:.{digits}f}"


def _percent(v: float) -> str:
  return f"{100 * v:.0f}%"


def _err(v: float) -> str:
  return f"{v:.1e}"


# (header, Row attribute, formatter)
COLUMNS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("shape", "shape", str),
    ("mode", "mode", str),
    ("tokens", "tokens", str),
    ("routing", "routing", str),
    ("touched", "touched", str),
    ("ours us", "ours_us", _fixed(1)),
    ("gemms us", "ours_gemm_us", _fixed(1)),
    ("floor us", "floor_us", _fixed(1)),
    ("ours/floor", "ours_over_floor", _fixed(2)),
    ("TB/s", "achieved_tb_s", _fixed(2)),
    ("TFLOP/s", "achieved_tflop_s", _fixed(1)),
    ("of BF16", "of_bf16_ceiling", _percent),
    ("peer us", "peer_us", _fixed(1)),
    ("peer gemms us", "peer_gemm_us", _fixed(1)),
    ("peer/ours", "peer_over_ours", _fixed(2)),
    ("ours/peer gemms", "ours_over_peer_gemms", _fixed(2)),
    ("err vs peer", "rel_err_vs_peer", _err),
]
# Shown when a row has the Marlin peer's figures.
MARLIN_COLUMNS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("marlin us", "marlin_us", _fixed(1)),
    ("marlin gemms us", "marlin_gemm_us", _fixed(1)),
    ("marlin/ours", "marlin_over_ours", _fixed(2)),
    ("marlin err", "marlin_err_vs_peer", _err),
]


def columns_for(rows: list[Row]) -> list[tuple[str, str, Callable[[Any], str]]]:
  with_marlin = any(r.marlin_us is not None or r.marlin_err_vs_peer is not None for r in rows)
  return COLUMNS + MARLIN_COLUMNS if with_marlin else COLUMNS


def _cell(row: Row, attr: str, fmt: Callable[[Any], str]) -> str:
  value = getattr(row, attr)
  if value is None or (isinstance(value, float) and not math.isfinite(value)):
    return "nan" if isinstance(value, float) else "-"
  return fmt(value)


def _row_cells(row: Row, columns: list[tuple[str, str, Callable[[Any], str]]]) -> list[str]:
  cells = [_cell(row, attr, fmt) for _, attr, fmt in columns]
  if row.accuracy_flag:
    cells[-1] += " !!"
  return cells


def _row_notes(rows: list[Row]) -> list[str]:
  notes = []
  for r in rows:
    label = f"{r.shape} {r.mode} T={r.tokens} {r.routing}"
    if r.error:
      notes.append(f"ERROR {label}: {r.error}")
    if r.accuracy_flag:
      notes.append(f"ACCURACY {label}: {r.accuracy_flag}")
  return notes


def format_table(rows: list[Row]) -> str:
  columns = columns_for(rows)
  headers = [h for h, _, _ in columns]
  body = [_row_cells(r, columns) for r in rows]
  widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]
  text_columns = 4  # shape, mode, tokens, routing read better left-aligned

  def line(cells: list[str]) -> str:
    return "  ".join(c.ljust(w) if i < text_columns else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

  lines = [line(headers), "  ".join("-" * w for w in widths)] + [line(b) for b in body]
  return "\n".join(lines + _row_notes(rows))


def format_markdown(device: str, ceilings: dict[str, float], settings: dict[str, Any], rows: list[Row]) -> str:
  columns = columns_for(rows)
  headers = [h for h, _, _ in columns]
  lines = [
      f"# fp4moe MoE benchmark: {device}",
      "",
      f"Ceilings measured in this run: copy {ceilings['copy_tb_s']:.2f} TB/s, "
      f"BF16 matmul {ceilings['bf16_tflop_s']:.1f} TFLOP/s. L2 {settings.get('l2_bytes', 0) / 2**20:.0f} MiB.",
      *([f"GEMM kernel forced with FP4MOE_GEMM={settings['gemm']} (not the dispatch table's choice)."]
        if settings.get("gemm") else []),
      *(["W4A4 with calibrated input scales (ModelOpt input_scale, from a calibration pass on the largest batch's "
         "first tokens), not the amax of each forward."] if settings.get("w4a4_scales") == "calibrated" else []),
      *(["Every expert with biases on its three projections (as gpt-oss's): FP32 in ours, BF16 in the peer, added "
         "after its grouped GEMMs. The floor counts their bytes."] if settings.get("bias") == "on" else []),
      *[s.off_note for s in RULE_SWITCHES if settings.get(s.key) == "off"],
      *(["Marlin: vLLM's NVFP4 Marlin MoE (fused_marlin_moe, W4A16 in every mode) on the same weights, gate and up "
         "sharing one scale_2; \"marlin err\" is its distance to the BF16 peer."] if settings.get("marlin_lib") else []),
      "",
      "| " + " | ".join(headers) + " |",
      "|" + "|".join("---" for _ in headers) + "|",
  ]
  lines += ["| " + " | ".join(_row_cells(r, columns)) + " |" for r in rows]
  notes = _row_notes(rows)
  if notes:
    lines += [""] + [f"- {n}" for n in notes]
  return "\n".join(lines) + "\n"


def _finite_or_none(value: Any) -> Any:
  """JSON has no NaN or infinity: such values become null."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: _finite_or_none(v) for k, v in value.items()}
  if isinstance(value, list):
    return [_finite_or_none(v) for v in value]
  return value


def results_json(device: str, ceilings: dict[str, float], settings: dict[str, Any], rows: list[Row]) -> str:
  record = {"device": device, "ceilings": ceilings, "settings": settings, "rows": [asdict(r) for r in rows]}
  return json.dumps(_finite_or_none(record), indent=1, allow_nan=False)


def slug(name: str) -> str:
  """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
  return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"
