// TMA descriptors of the wgmma kernels' operands, for their producer: one tensor copy brings a
// whole box into a stage, where cp.async took a copy instruction per 16 bytes and its address
// arithmetic.
//
// Weights (weight_layout.h): each map sees one kind of tile (codes: 512 bytes, scales: 64) as a
// 4-D tensor of 8-byte elements, innermost first: {the tile's bytes, K step, row tile, expert}. A
// box is one tile of block_row_tiles consecutive row tiles at one K step: in shared memory, row
// tile after row tile, the layout the consumers read. Row tiles past an expert's packed rows
// (blocks larger than the padding) are outside the tensor, so they arrive as zeros: exact zero
// weights, as the epilogues expect.
//
// Token rows, where a GEMM reads them in order (GEMM 2's sorted rows; GEMM 1 gathers them): the
// BF16 matrix [num_rows, k] as a 2-D tensor, a box of box_rows rows x 64 K with the 128-byte
// swizzle, which is the layout token_tile.cuh writes and the wgmma descriptor reads. Rows of the
// next expert that a box takes in feed token columns the epilogues drop; K and rows past the
// matrix arrive as zeros.
#pragma once
#include <cuda.h>

#include "cuda/gemm/grouped_gemm.h"

namespace fp4moe::cuda {

struct WgmmaTensorMaps {
  CUtensorMap codes;
  CUtensorMap scales;
  CUtensorMap tokens;  // encoded only where in.gather is null
};

// Host only: encodes the maps (no device work, no allocation), so a launcher can make them per
// call. block_row_tiles: the CTA's row block in 16-row tiles (at most 256); token_box_rows: the
// rows of one token copy (at most 256).
WgmmaTensorMaps make_wgmma_tensor_maps(const PackedExpertWeights& w, int block_row_tiles, const GemmInput& in,
                                       int token_box_rows);

}  // namespace fp4moe::cuda
