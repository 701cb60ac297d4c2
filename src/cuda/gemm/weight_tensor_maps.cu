#include "cuda/gemm/weight_tensor_maps.h"

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

CUtensorMap encode(const uint8_t* base, int64_t tile_bytes, const PackedExpertWeights& w, int block_row_tiles,
                   const char* what) {
  const cuuint64_t k_tiles = cuuint64_t(w.shape.k_tiles()), row_tiles = cuuint64_t(w.shape.row_tiles());
  const cuuint64_t dims[4] = {cuuint64_t(tile_bytes / 8), k_tiles, row_tiles, cuuint64_t(w.experts)};
  const cuuint64_t strides[3] = {cuuint64_t(tile_bytes), cuuint64_t(tile_bytes) * k_tiles,
                                 cuuint64_t(tile_bytes) * k_tiles * row_tiles};  // bytes, of dims 1-3
  const cuuint32_t box[4] = {cuuint32_t(tile_bytes / 8), 1, cuuint32_t(block_row_tiles), 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  CUtensorMap map;
  const CUresult r = encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_UINT64, 4, const_cast<uint8_t*>(base), dims,
                                    strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                    CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                    CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw Error(std::string("fp4moe: CUDA: cuTensorMapEncodeTiled (weight ") + what + ") failed with error " +
                std::to_string(int(r)));
  return map;
}

}  // namespace

WeightTensorMaps make_weight_tensor_maps(const PackedExpertWeights& w, int block_row_tiles) {
  return {encode(w.codes, kTileCodeBytes, w, block_row_tiles, "codes"),
          encode(w.scales, kTileScaleBytes, w, block_row_tiles, "scales")};
}

}  // namespace fp4moe::cuda
