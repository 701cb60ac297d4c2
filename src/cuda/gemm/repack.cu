// Checkpoint layout -> private tile layout (see weight_layout.h). One thread writes one lane's
// 16 code bytes of one tile; lanes with l % 4 == 0 also write that row pair's 8 scale bytes.
#include "cuda/common/check.h"
#include "cuda/gemm/repack.h"

namespace fp4moe::cuda {
namespace {

struct RowSource {
  const SourceMatrix* matrix;  // null: a padding row
  int64_t row;
};

__device__ RowSource source_row(WeightRole role, const SourceMatrix& first, const SourceMatrix& second,
                                int64_t private_row) {
  if (role == WeightRole::kDown) return {private_row < first.rows ? &first : nullptr, private_row};
  const GateUpRow r = gate_up_row(private_row);
  const SourceMatrix& m = r.is_up ? second : first;
  return {r.j < m.rows ? &m : nullptr, r.j};
}

// The packed byte holding elements (k, k+1) of a row, 0 past the matrix.
__device__ uint8_t source_code_byte(const RowSource& src, int64_t k) {
  if (!src.matrix || k >= src.matrix->k) return 0;
  return src.matrix->packed[src.row * (src.matrix->k / 2) + k / 2];
}

__device__ uint8_t source_scale(const RowSource& src, int64_t k_block) {
  if (!src.matrix || k_block * 16 >= src.matrix->k) return 0;
  return src.matrix->scales[scale_offset(src.matrix->layout, src.row, k_block, src.matrix->k)];
}

__global__ void repack_weights_kernel(WeightRole role, SourceMatrix first, SourceMatrix second,
                                      PackedWeightShape shape, uint8_t* codes, uint8_t* scales) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t tiles = shape.row_tiles() * shape.k_tiles();
  if (thread >= tiles * 32) return;
  const int64_t tile = thread / 32;
  const int lane = int(thread % 32);
  const int64_t row_tile = tile / shape.k_tiles(), k_tile = tile % shape.k_tiles();
  const int g = lane / 4, c = 2 * (lane % 4);
  const RowSource lo = source_row(role, first, second, row_tile * kTileRows + g);
  const RowSource hi = source_row(role, first, second, row_tile * kTileRows + g + 8);

  uint8_t out[16];
  for (int s = 0; s < 4; ++s) {
    const int64_t k = k_tile * kTileK + s * 16 + c;
    out[s * 4 + 0] = source_code_byte(lo, k);
    out[s * 4 + 1] = source_code_byte(hi, k);
    out[s * 4 + 2] = source_code_byte(lo, k + 8);
    out[s * 4 + 3] = source_code_byte(hi, k + 8);
  }
  uint4 packed;
  memcpy(&packed, out, 16);
  reinterpret_cast<uint4*>(codes + tile * kTileCodeBytes)[lane] = packed;

  if (lane % 4 == 0) {
    uint8_t* tile_scales = scales + tile * kTileScaleBytes + g * 8;
    for (int s = 0; s < 4; ++s) {
      tile_scales[s] = source_scale(lo, k_tile * 4 + s);
      tile_scales[4 + s] = source_scale(hi, k_tile * 4 + s);
    }
  }
}

}  // namespace

void launch_repack_weights(WeightRole role, const SourceMatrix& first, const SourceMatrix& second,
                           PackedWeightShape shape, uint8_t* codes, uint8_t* scales, cudaStream_t stream) {
  const int64_t threads = shape.row_tiles() * shape.k_tiles() * 32;
  const int block = 256;
  repack_weights_kernel<<<unsigned(ceil_div(threads, block)), block, 0, stream>>>(role, first, second, shape, codes,
                                                                                  scales);
  check_launch("repack_weights_kernel");
}

}  // namespace fp4moe::cuda
