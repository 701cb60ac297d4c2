// GEMM 1's token rows copied once into the plan's sorted order, so that GEMM 1 reads them as GEMM 2
// reads h: a contiguous run of rows per tile, by tensor copies from one producer lane, instead of
// each producer thread gathering 16-byte chunks of scattered rows with cp.async (and every consumer
// fencing them for wgmma's async proxy). moe/dispatch.h's sorted-rows rule says where it pays.
#pragma once
#include <cstdint>

#include "cuda/common/launch.h"
#include "cuda/routing/plan.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

// out[plan.pair_rows[p]] = x[p / top_k] for every pair p of the batch's local pairs (pair_rows not
// -1): row r of out is the token row of sorted pair r, for r < plan.expert_offsets[local experts];
// the rows after them are left as they are. x [num_tokens, hidden], out [num_tokens * top_k,
// hidden], both 16-byte aligned, hidden a multiple of 8, top_k at most kTokenKernelMaxTopK
// (routing/plan.h). x_is_input: x is the caller's hidden states (ready before the plan ran), not a
// kernel's output in this forward.
void launch_gather_sorted_rows(const bf16* x, bool x_is_input, int num_tokens, int top_k, int64_t hidden,
                               const RoutingPlan& plan, bf16* out, const Launch& launch);

}  // namespace fp4moe::cuda
