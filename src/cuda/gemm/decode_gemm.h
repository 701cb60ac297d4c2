// The decode forward: a batch of at most kWarpPlanMaxPairs (token, expert) pairs as two GEMM
// kernels with nothing between them in W4A16, instead of the four kernels of the general chain
// (plan, GEMM 1, GEMM 2, combine; moe/cuda_layer.cu). W4A4 keeps its quantizations around GEMM 1
// (x by quant/quantize.h's decode kernel, h by a kernel between the GEMMs) and drops the plan,
// the amax and the combine: four kernels instead of seven. moe/dispatch.h's use_decode_kernels
// says for which batches. At one token each link of a chain costs dependency latency. Here every
// CTA builds the routing plan itself (routing/warp_plan.cuh), and GEMM 2's CTAs combine: the last
// CTA of each row block to finish sums that block's columns over every token's slots. GEMM 2's
// CTAs also start streaming their weights before GEMM 1 ends, and in W4A4 GEMM 1's before x's
// quantization ends.
#pragma once
#include "cuda/gemm/grouped_gemm.h"

namespace fp4moe::cuda {

struct DecodeRouting {
  const int32_t* topk_ids;     // [tokens * top_k]
  const float* topk_weights;   // [tokens * top_k]
  int num_tokens, top_k;
  int local_start, num_local;  // the local experts' global ids
};

struct DecodeOutput {
  uint32_t* arrivals;  // [decode_arrival_counters(hidden)] GEMM 2 CTAs done per row block; GEMM 1 zeroes them
  bf16* out;           // [tokens, hidden]
  int* valid_rows;     // W4A4: GEMM 1 stores the count of sorted rows here, for h's quantization; else null
};

// The arrival counters a forward needs: one per 16 rows of GEMM 2's padded weight rows, the most
// row blocks any tile shape has.
inline int64_t decode_arrival_counters(int hidden) { return round_up(hidden, kRowPadding) / kTileRows; }

// Whether a tile shape has decode kernels: the mma.sync shapes of 8-token blocks.
bool has_decode_gemm(const MmaTileConfig& config);

// GEMM 2's row blocks with tile shape `tile`: the arrival counters GEMM 1 zeroes.
int64_t decode_row_blocks(const MmaTileConfig& tile, const PackedExpertWeights& down);

// GEMM 1 (x -> activation -> gate_up_out's h) and GEMM 2 (h -> down_out.y, combined into out.out),
// each with its own tile shape, which must have decode kernels; in W4A4 h's quantization runs
// between them, by its own kernel or, with a calibrated scale, by GEMM 1's epilogue
// (gate_up_out.h_global_scale). GEMM 1 zeroes the gemm2_row_blocks arrival counters GEMM 2 will count on.
void launch_decode_gate_up(const MmaTileConfig& tile, const PackedExpertWeights& w, const GemmInput& x,
                           const GateUpOutput& gate_up_out, const DecodeRouting& routing, const DecodeOutput& out,
                           int64_t gemm2_row_blocks, const Launch& launch);
void launch_decode_down(const MmaTileConfig& tile, const PackedExpertWeights& w, const GemmInput& h,
                        const DownOutput& down_out, const DecodeRouting& routing, const DecodeOutput& out,
                        const Launch& launch);

}  // namespace fp4moe::cuda
