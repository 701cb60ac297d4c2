// TMA descriptors of the packed weights (weight_layout.h), for the wgmma kernels' producer: one
// tensor copy brings a CTA's whole row block of one 64-K step into a stage, codes in one, scales in
// another, where cp.async took a copy instruction per 16 bytes and its address arithmetic.
//
// Each map sees one kind of tile (codes: 512 bytes, scales: 64) as a 4-D tensor of 8-byte elements,
// innermost first: {the tile's bytes, K step, row tile, expert}. A box is one tile of block_row_tiles
// consecutive row tiles at one K step: in shared memory, row tile after row tile, the layout the
// consumers read. Row tiles past an expert's packed rows (blocks larger than the padding) are
// outside the tensor, so they arrive as zeros: exact zero weights, as the epilogues expect.
#pragma once
#include <cuda.h>

#include "cuda/gemm/grouped_gemm.h"

namespace fp4moe::cuda {

struct WeightTensorMaps {
  CUtensorMap codes;
  CUtensorMap scales;
};

// Host only: encodes both maps (no device work, no allocation), so a launcher can make them per
// call. block_row_tiles: the CTA's row block in 16-row tiles (at most 256).
WeightTensorMaps make_weight_tensor_maps(const PackedExpertWeights& w, int block_row_tiles);

}  // namespace fp4moe::cuda
