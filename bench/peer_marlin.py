# The Marlin peer: what vLLM (and SGLang after it) runs for an NVFP4 MoE layer on Hopper. Its weights are
# prepared as vLLM's prepare_nvfp4_moe_layer_for_marlin prepares them (gptq_marlin_repack, permuted and
# rescaled E4M3 scales, one global scale per expert and GEMM) and its forward is fused_marlin_moe's: align the
# routed rows in blocks, Marlin GEMM 1, SiLU-and-mul, Marlin GEMM 2 with the top-k weights, sum over top-k.
# The kernels come from libpeer_marlin.so (bench/marlin/build.py compiles it from a vLLM release); this file
# drives them through ctypes on preallocated buffers, so that a forward can be captured in a CUDA graph.
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from nvfp4_torch import Nvfp4Experts

BLOCK = 16  # NVFP4 group size
BLOCK_ROWS = (8, 16, 32, 48, 64)  # fused_marlin_moe's candidate m blocks, smallest first
BLOCK_FILL = 0.9  # it takes the first block that the average expert fills less than this share of
# Marlin reads BF16 NVFP4 scales as a biased S0E5M3 byte: vLLM's exponent bias for BF16 is 2^7 - 2^1 and the
# scales are multiplied by 2^7 before they are packed.
BF16_EXPONENT_BIAS = 2**7 - 2**1
SCALE_SHIFT = 7
E4M3_MAX = 448.0
DEFAULT_LIBRARY = Path(__file__).resolve().parents[1] / "build-marlin" / "libpeer_marlin.so"


def scale_permutation() -> list[int]:
  """marlin_permute_scales' order of 64 scale columns for grouped scales."""
  return [i + 8 * j for i in range(8) for j in range(8)]


def block_rows(tokens: int, top_k: int, experts: int) -> int:
  """fused_marlin_moe's m block: the first candidate that the average expert's rows fill less than 90%."""
  for rows in BLOCK_ROWS:
    if tokens * top_k / experts / rows < BLOCK_FILL:
      return rows
  return BLOCK_ROWS[-1]


def padded_intermediate(hidden: int, intermediate: int) -> int:
  """The intermediate size vLLM pads to so that Marlin's tiles divide it (zero rows and columns)."""
  step = 64 if hidden % 128 == 0 else 128
  return math.ceil(intermediate / step) * step


class MarlinLibrary:
  """libpeer_marlin.so's entry points (bench/marlin/peer_marlin.h), raising on a failed call."""

  def __init__(self, path: str | Path = DEFAULT_LIBRARY):
    path = Path(path)
    if not path.is_file():
      raise FileNotFoundError(f"{path}: no Marlin peer library; build it with bench/marlin/build.py")
    self.lib = ctypes.CDLL(str(path))
    p, i = ctypes.c_void_p, ctypes.c_int
    signatures = {
        "peer_marlin_last_error": ([], ctypes.c_char_p),
        "peer_marlin_sorted_len": ([i, i, i], i),
        "peer_marlin_c_tmp_floats": ([i, i, i, i], i),
        "peer_marlin_lock_count": ([i], i),
        "peer_marlin_align": ([p, i, i, i, i, p, i, p, p, p, p], i),
        "peer_marlin_repack": ([p, p, i, i, p], i),
        "peer_marlin_gemm": ([p, p, p, p, p, p, p, p, p, p, i, i, i, i, i, i, i, p, p], i),
        "peer_marlin_silu_and_mul": ([p, p, i, i, p], i),
    }
    for name, (args, result) in signatures.items():
      fn = getattr(self.lib, name)
      fn.argtypes, fn.restype = args, result

  def call(self, name: str, *args) -> None:
    if getattr(self.lib, name)(*args) != 0:
      raise RuntimeError(self.lib.peer_marlin_last_error().decode())

  def size(self, name: str, *args) -> int:
    return getattr(self.lib, name)(*args)


def _stream() -> int:
  return torch.cuda.current_stream().cuda_stream


@dataclass
class MarlinWeights:
  w13: torch.Tensor  # int32 [E, H/16, 2N*2]: Marlin tiles, gate shard then up shard, N = padded intermediate
  w13_scale: torch.Tensor  # float8 [E, H/16, 2N]: permuted, rescaled S0E5M3 scales
  w13_global: torch.Tensor  # float32 [E]: the gate's scale_2 (vLLM keeps one of the two), biased and rescaled
  w2: torch.Tensor  # int32 [E, N/16, H*2]
  w2_scale: torch.Tensor  # float8 [E, N/16, H]
  w2_global: torch.Tensor  # float32 [E]
  intermediate: int  # N, padded

  @property
  def experts(self) -> int:
    return self.w13.shape[0]

  @property
  def hidden(self) -> int:
    return self.w2.shape[2] // 2


def _pad_rows(x: torch.Tensor, shards: int, rows: int) -> torch.Tensor:
  """Zero-pads each of the shards of x [E, shards * R, C] to `rows` rows."""
  e, total, cols = x.shape
  if total // shards == rows:
    return x
  x = x.view(e, shards, total // shards, cols)
  return torch.nn.functional.pad(x, (0, 0, 0, rows - total // shards)).reshape(e, shards * rows, cols)


def _pad_cols(x: torch.Tensor, cols: int) -> torch.Tensor:
  return x if x.shape[-1] == cols else torch.nn.functional.pad(x, (0, cols - x.shape[-1]))


def _repack(lib: MarlinLibrary, codes: torch.Tensor) -> torch.Tensor:
  """codes uint8 [E, size_n, size_k/2] (the checkpoint's rows) -> Marlin tiles int32 [E, size_k/16, size_n*2]."""
  e, size_n, half_k = codes.shape
  size_k = 2 * half_k
  out = torch.empty((e, size_k // 16, size_n * 2), dtype=torch.int32, device=codes.device)
  for expert in range(e):
    qweight = codes[expert].view(torch.int32).T.contiguous()  # [size_k/8, size_n]
    lib.call("peer_marlin_repack", qweight.data_ptr(), out[expert].data_ptr(), size_k, size_n, _stream())
  return out


def _scale_factor(scales: torch.Tensor) -> float:
  """vLLM's shared power-of-two factor that lifts every nonzero scale * 2^7 to at least 2 (the MSB of S0E5M3)."""
  shifted = scales.float() * 2**SCALE_SHIFT
  nonzero = shifted[shifted > 0]
  if nonzero.numel() == 0 or nonzero.max() >= E4M3_MAX * 2**SCALE_SHIFT:
    return 1.0
  return float(torch.exp2(torch.floor(torch.log2(E4M3_MAX * 2**SCALE_SHIFT / nonzero.max()))))


def _marlin_scales(scales: torch.Tensor, factor: float) -> torch.Tensor:
  """One expert's BF16 scales [size_n, size_k/16] -> Marlin's S0E5M3 bytes [size_k/16, size_n]."""
  size_n = scales.shape[0]
  s = scales.T.reshape(-1, 64)[:, scale_permutation()].reshape(-1, size_n)
  s = s.to(torch.half)
  s = s.view(-1, 4)[:, [0, 2, 1, 3]].reshape(s.shape)  # the order Marlin's FP8 dequantization reads
  if factor > 1.0:
    s = (s.float() * factor).to(torch.half)
  s = s * 2**SCALE_SHIFT
  s[s < 2] = 0
  packed = (s.view(torch.int16) << 1).view(torch.float8_e4m3fn)  # the half's bits 14..7 become one byte
  return packed[:, 1::2].contiguous()


def _prepare_scales(scales_e4m3: torch.Tensor, scale_2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
  scales = scales_e4m3.view(torch.float8_e4m3fn).to(torch.bfloat16)
  factor = _scale_factor(scales)  # one for all experts: the global scales absorb it
  marlin = torch.stack([_marlin_scales(scales[e], factor) for e in range(scales.shape[0])])
  return marlin, (scale_2.float() * 2.0 ** (BF16_EXPONENT_BIAS - SCALE_SHIFT) / factor).contiguous()


def prepare_weights(lib: MarlinLibrary, w: Nvfp4Experts) -> MarlinWeights:
  """prepare_nvfp4_moe_layer_for_marlin on our checkpoint-layout experts."""
  e, two_i, half_h = w.w13.shape
  hidden, intermediate = 2 * half_h, two_i // 2
  n = padded_intermediate(hidden, intermediate)
  w13 = _repack(lib, _pad_rows(w.w13, 2, n))
  w2 = _repack(lib, _pad_cols(w.w2, n // 2))
  w13_scale, w13_global = _prepare_scales(_pad_rows(w.w13_scale, 2, n), w.w13_scale_2[:, 0])
  w2_scale, w2_global = _prepare_scales(_pad_cols(w.w2_scale, n // BLOCK), w.w2_scale_2)
  return MarlinWeights(w13, w13_scale, w13_global, w2, w2_scale, w2_global, n)


class MarlinForward:
  """fused_marlin_moe for one batch of fixed shape: every buffer allocated here, so run() can be captured."""

  def __init__(self, lib: MarlinLibrary, tokens: int, top_k: int, experts: int, hidden: int, intermediate: int,
               device: str = "cuda"):
    self.lib, self.tokens, self.top_k, self.experts = lib, tokens, top_k, experts
    self.hidden, self.n = hidden, intermediate
    self.block = block_rows(tokens, top_k, experts)
    routed = tokens * top_k
    self.sorted_len = lib.size("peer_marlin_sorted_len", routed, experts, self.block)
    sms = torch.cuda.get_device_properties(device).multi_processor_count

    def ints(count: int) -> torch.Tensor:
      return torch.empty(count, dtype=torch.int32, device=device)

    self.sorted_ids, self.block_experts = ints(self.sorted_len), ints(math.ceil(self.sorted_len / self.block))
    self.rows_padded, self.cumsum = ints(1), ints(experts + 1)
    self.locks = torch.zeros(lib.size("peer_marlin_lock_count", sms), dtype=torch.int32, device=device)
    c_tmp = max(lib.size("peer_marlin_c_tmp_floats", size_n, self.sorted_len, self.block, sms)
                for size_n in (2 * intermediate, hidden))
    self.c_tmp = torch.empty(c_tmp, dtype=torch.float32, device=device)
    self.gate_up = torch.empty((routed, 2 * intermediate), dtype=torch.bfloat16, device=device)
    self.h = torch.empty((routed, intermediate), dtype=torch.bfloat16, device=device)
    self.down = torch.empty((routed, hidden), dtype=torch.bfloat16, device=device)
    self.out = torch.empty((tokens, hidden), dtype=torch.bfloat16, device=device)

  def _gemm(self, a: torch.Tensor, b: torch.Tensor, scales: torch.Tensor, global_scales: torch.Tensor,
            c: torch.Tensor, topk_weights: torch.Tensor, top_k: int, weighted: bool, size_m: int) -> None:
    self.lib.call("peer_marlin_gemm", a.data_ptr(), b.data_ptr(), scales.data_ptr(), global_scales.data_ptr(),
                  c.data_ptr(), self.c_tmp.data_ptr(), self.sorted_ids.data_ptr(), self.block_experts.data_ptr(),
                  self.rows_padded.data_ptr(), topk_weights.data_ptr(), self.block, self.experts, top_k,
                  int(weighted), size_m, c.shape[1], a.shape[1], self.locks.data_ptr(), _stream())

  def align(self, topk_ids: torch.Tensor) -> None:
    self.lib.call("peer_marlin_align", topk_ids.data_ptr(), topk_ids.numel(), self.top_k, self.experts, self.block,
                  self.sorted_ids.data_ptr(), self.sorted_len, self.block_experts.data_ptr(),
                  self.rows_padded.data_ptr(), self.cumsum.data_ptr(), _stream())

  def gemm1(self, x: torch.Tensor, w: MarlinWeights, topk_weights: torch.Tensor) -> None:
    self._gemm(x, w.w13, w.w13_scale, w.w13_global, self.gate_up, topk_weights, self.top_k, False, self.tokens)

  def activation(self) -> None:
    self.lib.call("peer_marlin_silu_and_mul", self.gate_up.data_ptr(), self.h.data_ptr(), self.h.shape[0], self.n,
                  _stream())

  def gemm2(self, w: MarlinWeights, topk_weights: torch.Tensor) -> None:
    self._gemm(self.h, w.w2, w.w2_scale, w.w2_global, self.down, topk_weights, 1, True, self.tokens * self.top_k)

  def run(self, x: torch.Tensor, topk_weights: torch.Tensor, topk_ids: torch.Tensor, w: MarlinWeights) -> torch.Tensor:
    """The whole layer; x bf16 [T, H], topk_weights float32 [T, k], topk_ids int32 [T, k] -> self.out bf16 [T, H]."""
    self.align(topk_ids)
    self.gemm1(x, w, topk_weights)
    self.activation()
    self.gemm2(w, topk_weights)
    torch.sum(self.down.view(self.tokens, self.top_k, self.hidden), dim=1, out=self.out)
    return self.out
