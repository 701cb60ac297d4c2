# The benchmark's shapes and its arithmetic: the floor of one MoE forward (benchmarking.md: NVFP4 bytes
# of the touched experts over the copy bandwidth, or both GEMMs' operations at the BF16 tensor rate,
# whichever is larger) and how many weight copies to rotate over so that L2 cannot hold them.
# Pure Python: the self-test checks it without a GPU.
from __future__ import annotations

import math
from dataclasses import dataclass

NVFP4_BYTES_PER_ELEMENT = 0.5625  # 4 bits per element plus one E4M3 scale byte per 16 elements
BF16_BYTES = 2
L2_ROTATION_FACTOR = 4  # the touched weights of all copies together are at least this many L2 sizes


@dataclass(frozen=True)
class MoeShape:
  name: str
  experts: int
  hidden: int
  intermediate: int
  top_k: int

  def expert_elements(self) -> int:
    """Weight elements of one expert: gate and up [I, H] plus down [H, I]."""
    return 3 * self.hidden * self.intermediate

  def nvfp4_expert_bytes(self) -> float:
    return self.expert_elements() * NVFP4_BYTES_PER_ELEMENT

  def expert_bytes(self, biases: bool = False) -> float:
    """What a forward reads of one touched expert: its NVFP4 weights, and with `biases` its FP32 gate, up and
    down biases (2I + H values, as gpt-oss's)."""
    return self.nvfp4_expert_bytes() + (4.0 * (2 * self.intermediate + self.hidden) if biases else 0.0)

  def bf16_expert_bytes(self) -> int:
    return self.expert_elements() * BF16_BYTES


SHAPES = {
    s.name: s
    for s in (
        MoeShape("qwen3-30b-a3b", 128, 2048, 768, 8),
        MoeShape("gpt-oss-120b", 128, 2880, 2880, 4),
        MoeShape("deepseek-v4-flash", 256, 4096, 2048, 6),
        MoeShape("deepseek-v3", 256, 7168, 2048, 8),
    )
}
TOKEN_BATCHES = (1, 8, 64, 512, 4096, 16384)


@dataclass(frozen=True)
class Floor:
  bytes: float  # the touched experts' weights (MoeShape.expert_bytes) plus activations in and out
  flops: float  # both GEMMs
  bytes_s: float
  flops_s: float

  @property
  def seconds(self) -> float:
    return max(self.bytes_s, self.flops_s)

  @property
  def bound(self) -> str:
    return "memory" if self.bytes_s >= self.flops_s else "compute"


def moe_floor(shape: MoeShape, tokens: int, touched: int, copy_bytes_per_s: float, bf16_flops_per_s: float,
              biases: bool = False) -> Floor:
  weight_bytes = touched * shape.expert_bytes(biases)
  activation_bytes = 2 * tokens * shape.hidden * BF16_BYTES  # x in, y out
  total_bytes = weight_bytes + activation_bytes
  flops = 2.0 * tokens * shape.top_k * shape.expert_elements()
  return Floor(total_bytes, flops, total_bytes / copy_bytes_per_s, flops / bf16_flops_per_s)


def peer_activation_bytes(shape: MoeShape, tokens: int) -> float:
  """Device memory the BF16 peer's temporaries take at `tokens`, with room for both the eager run's cached
  blocks and the graph's private pool: per routed row the gathered input (2H bytes), GEMM 1's output and
  SwiGLU (about 8I), GEMM 2's output and its FP32 weighted copy (6H)."""
  rows = tokens * shape.top_k
  return 2.0 * rows * (8 * shape.hidden + 8 * shape.intermediate)


def copies_to_defeat_l2(touched_bytes_per_copy: float, l2_bytes: int) -> int:
  """Copies whose touched weights together are >= L2_ROTATION_FACTOR * L2."""
  if touched_bytes_per_copy <= 0:
    return 1
  return max(1, math.ceil(L2_ROTATION_FACTOR * l2_bytes / touched_bytes_per_copy))


def copies_within_budget(wanted: int, bytes_per_copy: float, budget_bytes: float) -> int:
  """At most `wanted` copies that fit the budget; always at least one (the row then says how many it got)."""
  fitting = int(budget_bytes // bytes_per_copy) if bytes_per_copy > 0 else wanted
  return max(1, min(wanted, fitting))


def parse_shapes(text: str) -> list[MoeShape]:
  if text == "all":
    return list(SHAPES.values())
  names = [n.strip() for n in text.split(",") if n.strip()]
  unknown = [n for n in names if n not in SHAPES]
  if unknown:
    raise ValueError(f"--shapes: unknown {unknown}; expected 'all' or a comma list of {list(SHAPES)}")
  return [SHAPES[n] for n in names]


def parse_tokens(text: str) -> list[int]:
  try:
    tokens = [int(t) for t in text.split(",") if t.strip()]
  except ValueError:
    raise ValueError(f"--tokens: expected a comma list of positive integers, got {text!r}") from None
  if not tokens or min(tokens) < 1:
    raise ValueError(f"--tokens: expected a comma list of positive integers, got {text!r}")
  return tokens
