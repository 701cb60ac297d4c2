// The token tile of a grouped-GEMM stage in shared memory: which activation row each of its rows
// reads, and the copies of a row's 16-byte chunks to where gemm/token_layout.h puts them. Both
// mainloops (mma.sync and wgmma) fill it alike.
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/token_layout.h"

namespace fp4moe::cuda {

// The activation row behind row `row` of `tile` (GEMM 1 gathers by pair: row = pair / top_k), or
// null past the tile's rows. Constant along K, so resolved once per CTA.
__device__ __forceinline__ const bf16* tile_token_row(const GemmInput& in, const GemmTile& tile, int row) {
  if (row >= tile.rows) return nullptr;
  const int sorted = tile.row_begin + row;
  const int64_t src_row = in.gather ? in.gather[sorted] / in.top_k : sorted;
  return in.rows + src_row * in.k;
}

// Copies 16-byte chunk `chunk` of K step `kt` of a token row into the stage (zeros past the tile's
// rows or past K; K % 16 == 0, so a chunk never straddles the end). The wgmma producers use this
// form, with the row read from their shared row table at each copy; resolving the chunk once per
// thread instead (below) made prefill 3-5% slower on the H200.
__device__ __forceinline__ void copy_token_chunk(char* stage_tokens, const bf16* src_row, const GemmInput& in,
                                                 int row, int chunk, int kt) {
  const int k = kt * kTileK + chunk * 8;
  const bool valid = src_row != nullptr && k < in.k;
  ptx::cp_async_16(stage_tokens + token_chunk_offset(row, chunk), valid ? src_row + k : in.rows, valid);
}

// The mma.sync mainloop's form: where one 16-byte chunk column of a token row comes from for every
// K step, resolved once per CTA, so that a copy in its instruction-bound K loop costs one address
// and one compare.
struct TokenChunkSource {
  const bf16* src;  // the chunk of K step 0 (for an empty row, the first activation row's)
  int k_end;        // K steps kt with kt * kTileK < k_end lie inside the row (0 for an empty row)
};

__device__ __forceinline__ TokenChunkSource token_chunk_source(const bf16* src_row, const GemmInput& in, int chunk) {
  if (src_row == nullptr) return {in.rows + chunk * 8, 0};
  return {src_row + chunk * 8, in.k - chunk * 8};
}

// A zero-filled copy reads nothing from its source address.
__device__ __forceinline__ void copy_token_chunk(char* stage_tokens, int dst_offset, const TokenChunkSource& s,
                                                 int kt) {
  const int k = kt * kTileK;
  ptx::cp_async_16(stage_tokens + dst_offset, s.src + k, k < s.k_end);
}

}  // namespace fp4moe::cuda
