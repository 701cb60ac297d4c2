# The peer: the same MoE layer in plain PyTorch BF16, built on torch._grouped_mm (2D tokens x 3D experts,
# with int32 cumulative token counts per expert). Routing plan, SwiGLU and the weighted combine are torch ops
# that never sync with the host, so the whole forward can be captured in a CUDA graph.
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class PeerWeights:
  w13: torch.Tensor  # bf16 [E, 2I, H], gate rows then up rows (the nn.Linear layout)
  w2: torch.Tensor  # bf16 [E, H, I]
  b13: torch.Tensor | None = None  # bf16 [E, 2I]: the gate and up biases, or none
  b2: torch.Tensor | None = None  # bf16 [E, H]

  def gemm1_rhs(self) -> torch.Tensor:
    return self.w13.transpose(1, 2)  # [E, H, 2I] with unit stride along H, which _grouped_mm accepts

  def gemm2_rhs(self) -> torch.Tensor:
    return self.w2.transpose(1, 2)  # [E, I, H]


@dataclass
class PeerPlan:
  """Token order grouped by expert: row r of the grouped GEMMs is token token_of[r], slot order[r]."""

  order: torch.Tensor  # int64 [T*k]: positions in the flattened top-k, sorted by expert
  token_of: torch.Tensor  # int64 [T*k]
  offs: torch.Tensor  # int32 [E]: cumulative row counts, the end of each expert's group
  expert_of: torch.Tensor  # int64 [T*k]: each row's expert (for the biases)


def plan_routing(topk_ids: torch.Tensor, num_experts: int) -> PeerPlan:
  flat = topk_ids.reshape(-1).long()
  order = torch.argsort(flat, stable=True)
  # scatter_add_ rather than bincount: bincount reads the max id back to the host, which a graph cannot.
  counts = torch.zeros(num_experts, dtype=torch.int32, device=flat.device)
  counts.scatter_add_(0, flat, torch.ones_like(flat, dtype=torch.int32))
  return PeerPlan(order, order // topk_ids.shape[1], torch.cumsum(counts, 0, dtype=torch.int32), flat[order])


def swiglu(gate_up: torch.Tensor) -> torch.Tensor:
  gate, up = gate_up.chunk(2, dim=-1)
  return F.silu(gate) * up


def gemm1(x_sorted: torch.Tensor, w: PeerWeights, plan: PeerPlan) -> torch.Tensor:
  return torch._grouped_mm(x_sorted, w.gemm1_rhs(), offs=plan.offs)  # [T*k, 2I]


def gemm2(hidden: torch.Tensor, w: PeerWeights, plan: PeerPlan) -> torch.Tensor:
  return torch._grouped_mm(hidden, w.gemm2_rhs(), offs=plan.offs)  # [T*k, H]


def add_bias(out: torch.Tensor, bias: torch.Tensor | None, plan: PeerPlan) -> torch.Tensor:
  """out [T*k, N] with each row's expert's bias [E, N] added in place (torch._grouped_mm takes no bias); out as
  it is where there is no bias."""
  return out if bias is None else out.add_(bias.index_select(0, plan.expert_of))


def combine(down: torch.Tensor, topk_weights: torch.Tensor, plan: PeerPlan, tokens: int) -> torch.Tensor:
  """Weighted sum over each token's experts in FP32, rounded once to BF16."""
  weights = topk_weights.reshape(-1)[plan.order].unsqueeze(1)
  out = torch.zeros((tokens, down.shape[1]), dtype=torch.float32, device=down.device)
  out.index_add_(0, plan.token_of, down.float().mul_(weights))
  return out.to(torch.bfloat16)


def peer_forward(x: torch.Tensor, topk_weights: torch.Tensor, topk_ids: torch.Tensor, w: PeerWeights) -> torch.Tensor:
  """The whole layer: x bf16 [T, H], topk_weights float32 [T, k], topk_ids int32 [T, k] -> bf16 [T, H]."""
  plan = plan_routing(topk_ids, w.w13.shape[0])
  gate_up = add_bias(gemm1(x.index_select(0, plan.token_of), w, plan), w.b13, plan)
  down = add_bias(gemm2(swiglu(gate_up), w, plan), w.b2, plan)
  return combine(down, topk_weights, plan, x.shape[0])
