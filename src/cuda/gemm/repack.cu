// Checkpoint layout -> private tile layout (see weight_layout.h) and encodings (see
// format/weight_encoding.h). One thread writes one lane's 16 code bytes of one tile; lanes with
// l % 4 == 0 also write that row pair's 8 scale bytes.
#include "cuda/common/check.h"
#include "cuda/format/weight_encoding.h"
#include "cuda/gemm/repack.h"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe::cuda {
namespace {

struct RowSource {
  const SourceMatrix* matrix;  // null: a padding row
  int64_t row;
  uint32_t flag;               // this matrix's bit in *bad_scales
};

__device__ RowSource source_row(WeightRole role, const SourceMatrix& first, const SourceMatrix& second,
                                int64_t private_row) {
  if (role == WeightRole::kDown) return {private_row < first.rows ? &first : nullptr, private_row, 1u};
  const GateUpRow r = gate_up_row(private_row);
  const SourceMatrix& m = r.is_up ? second : first;
  return {r.j < m.rows ? &m : nullptr, r.j, r.is_up ? 2u : 1u};
}

// The packed byte holding elements (k, k+1) of a row, 0 past the matrix.
__device__ uint8_t source_code_byte(const RowSource& src, int64_t k) {
  if (!src.matrix || k >= src.matrix->k) return 0;
  return src.matrix->packed[src.row * (src.matrix->k / 2) + k / 2];
}

__device__ uint8_t source_scale(const RowSource& src, int64_t k_block, uint32_t* bad_scales) {
  if (!src.matrix || k_block * 16 >= src.matrix->k) return 0;
  const uint8_t s = src.matrix->scales[scale_offset(src.matrix->layout, src.row, k_block, src.matrix->k)];
  if (!is_valid_block_scale(s)) atomicOr(bad_scales, src.flag);
  return s;
}

__global__ void repack_weights_kernel(WeightRole role, SourceMatrix first, SourceMatrix second,
                                      PackedWeightShape shape, uint8_t* codes, uint8_t* scales,
                                      uint32_t* bad_scales) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t tiles = shape.row_tiles() * shape.k_tiles();
  if (thread >= tiles * 32) return;
  const int64_t tile = thread / 32;
  const int lane = int(thread % 32);
  const int64_t row_tile = tile / shape.k_tiles(), k_tile = tile % shape.k_tiles();
  const int g = lane / 4, c = 2 * (lane % 4);
  const RowSource lo = source_row(role, first, second, row_tile * kTileRows + g);
  const RowSource hi = source_row(role, first, second, row_tile * kTileRows + g + 8);

  // Scales first: a block whose scale is zero gets zero codes (its products are zero either
  // way), which lets a zero scale byte decode to any finite value (format/weight_encoding.h).
  uint8_t lo_scales[4], hi_scales[4];
  for (int s = 0; s < 4; ++s) {
    lo_scales[s] = source_scale(lo, k_tile * 4 + s, bad_scales);
    hi_scales[s] = source_scale(hi, k_tile * 4 + s, bad_scales);
  }
  uint32_t words[4];
  for (int s = 0; s < 4; ++s) {
    const int64_t k = k_tile * kTileK + s * 16 + c;
    const bool lo_live = lo_scales[s] != 0, hi_live = hi_scales[s] != 0;
    const uint8_t bytes[4] = {lo_live ? source_code_byte(lo, k) : uint8_t(0),
                              hi_live ? source_code_byte(hi, k) : uint8_t(0),
                              lo_live ? source_code_byte(lo, k + 8) : uint8_t(0),
                              hi_live ? source_code_byte(hi, k + 8) : uint8_t(0)};
    words[s] = encode_step_word(bytes);
  }
  reinterpret_cast<uint4*>(codes + tile * kTileCodeBytes)[lane] = make_uint4(words[0], words[1], words[2], words[3]);

  if (lane % 4 == 0) {
    uint8_t* tile_scales = scales + tile * kTileScaleBytes + g * 8;
    for (int s = 0; s < 4; ++s) {
      tile_scales[s] = encode_scale(lo_scales[s]);
      tile_scales[4 + s] = encode_scale(hi_scales[s]);
    }
  }
}

}  // namespace

void launch_repack_weights(WeightRole role, const SourceMatrix& first, const SourceMatrix& second,
                           PackedWeightShape shape, uint8_t* codes, uint8_t* scales, uint32_t* bad_scales,
                           cudaStream_t stream) {
  const int64_t threads = shape.row_tiles() * shape.k_tiles() * 32;
  const int block = 256;
  repack_weights_kernel<<<unsigned(ceil_div(threads, block)), block, 0, stream>>>(role, first, second, shape, codes,
                                                                                  scales, bad_scales);
  check_launch("repack_weights_kernel");
}

}  // namespace fp4moe::cuda
