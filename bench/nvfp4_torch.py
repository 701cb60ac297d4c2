# Random NVFP4 expert weights in the layout fp4moe's load_weights takes (checkpoint convention, linear
# scales), generated with torch on the device, and their decoding to BF16 for the peer:
# w = e2m1(q) * e4m3(scale) * scale_2 (spec section 2), element 2i in the low nibble.
from __future__ import annotations

from dataclasses import dataclass

import torch

from moe_shapes import MoeShape

E2M1_MAGNITUDES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
BLOCK = 16
# Block scales 2^-3 .. 7.5 (E4M3 biased exponents 4..9, any mantissa) and global scales 1e-3 .. 1e-2 make
# the dequantized weights O(0.01), like a trained layer's, so the outputs stay O(1) at every hidden size.
SCALE_EXPONENTS = (4, 9)
SCALE_2_LOG10 = (-3.0, -2.0)
BIAS_RANGE = 0.5  # --bias on: each projection's biases uniform in +-0.5 (as `fp4moe bench --bias on`), on O(1) outputs
DEQUANT_CHUNK_ELEMENTS = 1 << 27  # bounds the FP32 temporaries of decoding


@dataclass
class Nvfp4Experts:
  w13: torch.Tensor  # uint8 [E, 2I, H/2]: gate rows then up rows
  w13_scale: torch.Tensor  # uint8 E4M3 bits [E, 2I, H/16]
  w13_scale_2: torch.Tensor  # float32 [E, 2]: gate, up (kept distinct: the contract dequantizes each exactly)
  w2: torch.Tensor  # uint8 [E, H, I/2]
  w2_scale: torch.Tensor  # uint8 [E, H, I/16]
  w2_scale_2: torch.Tensor  # float32 [E]
  # Biases (gpt-oss's experts have them), float32 holding BF16 values, so that a BF16 peer adds the same ones:
  w13_bias: torch.Tensor | None = None  # [E, 2I]: gate then up
  w2_bias: torch.Tensor | None = None  # [E, H]

  def load_into(self, layer, input_scales: tuple[float, float] | None = None) -> None:
    """input_scales: mode W4A4's ModelOpt input_scale of GEMM 1 and GEMM 2 (calibrate_input_scales); None: dynamic."""
    a13, a2 = input_scales or (None, None)
    layer.load_weights(self.w13, self.w13_scale, self.w13_scale_2, self.w2, self.w2_scale, self.w2_scale_2,
                       a13_scale=a13, a2_scale=a2, w13_bias=self.w13_bias, w2_bias=self.w2_bias)

  def bf16_biases(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The biases as a BF16 model holds them (exactly: their values are BF16's), for the peer."""
    return tuple(None if b is None else b.to(torch.bfloat16) for b in (self.w13_bias, self.w2_bias))


def random_e4m3_scales(size: tuple[int, ...], gen: torch.Generator, device: str) -> torch.Tensor:
  lo, hi = SCALE_EXPONENTS
  exponent = torch.randint(lo, hi + 1, size, dtype=torch.uint8, device=device, generator=gen)
  mantissa = torch.randint(0, 8, size, dtype=torch.uint8, device=device, generator=gen)
  return exponent * 8 + mantissa  # sign 0, exponent in bits 6..3, mantissa in bits 2..0


def random_global_scales(size: tuple[int, ...], gen: torch.Generator, device: str) -> torch.Tensor:
  lo, hi = SCALE_2_LOG10
  u = torch.rand(size, dtype=torch.float32, device=device, generator=gen)
  return torch.pow(10.0, lo + (hi - lo) * u)


def random_nvfp4_experts(shape: MoeShape, seed: int, device: str, one_gate_up_scale: bool = False,
                         biases: bool = False) -> Nvfp4Experts:
  """Deterministic for a seed, so ours and the peer can rebuild the same copy independently. one_gate_up_scale:
  the up half takes the gate half's scale_2 (the rest unchanged), for a peer that keeps one of the two. biases:
  every projection gets one (drawn after the weights, which stay those of the same seed without biases)."""
  gen = torch.Generator(device=device)
  gen.manual_seed(seed)
  e, h, i = shape.experts, shape.hidden, shape.intermediate

  def codes(size: tuple[int, ...]) -> torch.Tensor:
    return torch.randint(0, 256, size, dtype=torch.uint8, device=device, generator=gen)

  experts = Nvfp4Experts(
      w13=codes((e, 2 * i, h // 2)),
      w13_scale=random_e4m3_scales((e, 2 * i, h // BLOCK), gen, device),
      w13_scale_2=random_global_scales((e, 2), gen, device),
      w2=codes((e, h, i // 2)),
      w2_scale=random_e4m3_scales((e, h, i // BLOCK), gen, device),
      w2_scale_2=random_global_scales((e,), gen, device),
  )
  if one_gate_up_scale:
    experts.w13_scale_2[:, 1] = experts.w13_scale_2[:, 0]
  if biases:
    def bias(size: tuple[int, ...]) -> torch.Tensor:
      u = torch.rand(size, dtype=torch.float32, device=device, generator=gen)
      return ((2 * u - 1) * BIAS_RANGE).to(torch.bfloat16).float()

    experts.w13_bias, experts.w2_bias = bias((e, 2 * i)), bias((e, h))
  return experts


def e2m1_lut(device: torch.device) -> torch.Tensor:
  """The 16 codes' values; bit 3 is the sign."""
  magnitudes = torch.tensor(E2M1_MAGNITUDES, dtype=torch.float32, device=device)
  return torch.cat([magnitudes, -magnitudes])


def dequantize_rows(packed: torch.Tensor, scales: torch.Tensor, row_scale_2: torch.Tensor) -> torch.Tensor:
  """packed uint8 [..., R, K/2], scales uint8 [..., R, K/16], row_scale_2 float32 [..., R] -> float32 [..., R, K]."""
  lut = e2m1_lut(packed.device)
  low = lut[(packed & 0x0F).long()]
  high = lut[(packed >> 4).long()]
  values = torch.stack([low, high], dim=-1).flatten(-2)  # element 2i from the low nibble
  blocks = values.unflatten(-1, (-1, BLOCK)) * scales.view(torch.float8_e4m3fn).float().unsqueeze(-1)
  return blocks.flatten(-2) * row_scale_2.unsqueeze(-1)


def _dequantize_experts(packed: torch.Tensor, scales: torch.Tensor, row_scale_2: torch.Tensor) -> torch.Tensor:
  """Expert by expert chunks into one BF16 tensor, so that no FP32 copy of the whole layer exists."""
  e, r, half_k = packed.shape
  out = torch.empty((e, r, 2 * half_k), dtype=torch.bfloat16, device=packed.device)
  step = max(1, DEQUANT_CHUNK_ELEMENTS // (r * 2 * half_k))
  for first in range(0, e, step):
    last = min(e, first + step)
    chunk = dequantize_rows(packed[first:last], scales[first:last], row_scale_2[first:last])
    out[first:last] = chunk.to(torch.bfloat16)
  return out


def dequantize_experts(w: Nvfp4Experts) -> tuple[torch.Tensor, torch.Tensor]:
  """BF16 w13 [E, 2I, H] and w2 [E, H, I]."""
  e, two_i, _ = w.w13.shape
  h = w.w2.shape[1]
  gate_up_scale = w.w13_scale_2.reshape(e, 2, 1).expand(e, 2, two_i // 2).reshape(e, two_i)
  down_scale = w.w2_scale_2.reshape(e, 1).expand(e, h)
  return _dequantize_experts(w.w13, w.w13_scale, gate_up_scale), _dequantize_experts(w.w2, w.w2_scale, down_scale)


def calibrate_input_scales(w: Nvfp4Experts, x: torch.Tensor, topk_ids: torch.Tensor) -> tuple[float, float]:
  """ModelOpt's input scales (amax / 2688) of GEMM 1's and GEMM 2's inputs, as its calibration takes them: from
  the unquantized layer (SiLU-gated, FP32 here) on sample tokens x [T, H] routed by topk_ids [T, k]."""
  i = w.w2.shape[2] * 2
  amax_h = torch.zeros((), dtype=torch.float32, device=x.device)
  for e in torch.unique(topk_ids).tolist():
    tokens = (topk_ids == e).any(dim=1).nonzero().flatten()
    row_scale_2 = w.w13_scale_2[e].repeat_interleave(i)  # gate rows, then up rows
    gate_up = x[tokens].float() @ dequantize_rows(w.w13[e], w.w13_scale[e], row_scale_2).T
    if w.w13_bias is not None:
      gate_up += w.w13_bias[e]
    h = torch.nn.functional.silu(gate_up[:, :i]) * gate_up[:, i:]
    amax_h = torch.maximum(amax_h, h.abs().max())
  return float(x.float().abs().max()) / 2688.0, float(amax_h) / 2688.0
