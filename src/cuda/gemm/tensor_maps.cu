#include "cuda/gemm/tensor_maps.h"

#include <cudaTypedefs.h>

#include <string>

#include "cuda/common/check.h"

namespace fp4moe::cuda {
namespace {

// cuTensorMapEncodeTiled is a driver API function; the runtime hands out its entry point, so the
// library links only the runtime.
PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* entry = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    check_cuda(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &entry, 12000, cudaEnableDefault, &found),
               "cudaGetDriverEntryPointByVersion(cuTensorMapEncodeTiled)");
    if (found != cudaDriverEntryPointSuccess || entry == nullptr)
      throw Error("fp4moe: CUDA: the driver has no cuTensorMapEncodeTiled (the wgmma kernels need CUDA 12 or later)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(entry);
  }();
  return fn;
}

CUtensorMap encode(CUtensorMapDataType type, int rank, const void* base, const cuuint64_t* dims,
                   const cuuint64_t* strides, const cuuint32_t* box, CUtensorMapSwizzle swizzle, const char* what) {
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  CUtensorMap map;
  const CUresult r = encode_tiled()(&map, type, cuuint32_t(rank), const_cast<void*>(base), dims, strides, box,
                                    element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw Error(std::string("fp4moe: CUDA: cuTensorMapEncodeTiled (") + what + ") failed with error " +
                std::to_string(int(r)));
  return map;
}

CUtensorMap weight_map(const uint8_t* base, int64_t tile_bytes, const PackedExpertWeights& w, int block_row_tiles,
                       const char* what) {
  const cuuint64_t k_tiles = cuuint64_t(w.shape.k_tiles()), row_tiles = cuuint64_t(w.shape.row_tiles());
  const cuuint64_t dims[4] = {cuuint64_t(tile_bytes / 8), k_tiles, row_tiles, cuuint64_t(w.experts)};
  const cuuint64_t strides[3] = {cuuint64_t(tile_bytes), cuuint64_t(tile_bytes) * k_tiles,
                                 cuuint64_t(tile_bytes) * k_tiles * row_tiles};  // bytes, of dims 1-3
  const cuuint32_t box[4] = {cuuint32_t(tile_bytes / 8), 1, cuuint32_t(block_row_tiles), 1};
  return encode(CU_TENSOR_MAP_DATA_TYPE_UINT64, 4, base, dims, strides, box, CU_TENSOR_MAP_SWIZZLE_NONE, what);
}

// k % 16 == 0 (the config's rule), so a row's stride is a multiple of the 16 bytes TMA wants.
CUtensorMap token_map(const GemmInput& in, int box_rows) {
  const cuuint64_t dims[2] = {cuuint64_t(in.k), cuuint64_t(in.num_rows)};
  const cuuint64_t strides[1] = {cuuint64_t(in.k) * sizeof(bf16)};
  const cuuint32_t box[2] = {cuuint32_t(kTileK), cuuint32_t(box_rows)};
  return encode(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, in.rows, dims, strides, box, CU_TENSOR_MAP_SWIZZLE_128B,
                "token rows");
}

}  // namespace

WgmmaTensorMaps make_wgmma_tensor_maps(const PackedExpertWeights& w, int block_row_tiles, const GemmInput& in,
                                       int token_box_rows) {
  WgmmaTensorMaps maps{};
  maps.codes = weight_map(w.codes, kTileCodeBytes, w, block_row_tiles, "weight codes");
  maps.scales = weight_map(w.scales, kTileScaleBytes, w, block_row_tiles, "weight scales");
  if (in.gather == nullptr && in.num_rows > 0) maps.tokens = token_map(in, token_box_rows);
  return maps;
}

}  // namespace fp4moe::cuda
