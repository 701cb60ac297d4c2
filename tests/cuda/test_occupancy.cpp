// The GEMM kernels hold as many CTAs per SM as the dispatch counts on. The dispatch tests model a 132-SM
// Hopper (moe/hopper_waves.h) and the layer measures its device (moe/cuda_layer.cu); on a 132-SM Hopper the
// two must agree. A kernel that outgrows its register budget holds fewer CTAs per SM, the tables'
// wave rules then mislead and the forward slows with no test failing: GEMM 1's quantizing epilogue,
// compiled into the mma.sync tiles too, once took the one-token tiles from 64 to 76 registers and
// qwen3-30b-a3b's one-token forward from 15.6 to 19.6 us (bench/results/h200-plan-two-launches/).
#include <cuda_runtime.h>

#include "cuda/gemm/grouped_gemm.h"
#include "cuda/moe/hopper_waves.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

struct DeviceKind {
  int sms = 0, major = 0;
};
DeviceKind device_kind() {
  DeviceKind k;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return k;
  cudaDeviceGetAttribute(&k.sms, cudaDevAttrMultiProcessorCount, device);
  cudaDeviceGetAttribute(&k.major, cudaDevAttrComputeCapabilityMajor, device);
  return k;
}

TEST(GpuOccupancy, TilesHoldTheCtasTheDispatchCounts) {
  FP4MOE_REQUIRE_GPU();
  const DeviceKind kind = device_kind();
  if (kind.major != 9 || kind.sms != 132) GTEST_SKIP() << "the model is of a 132-SM sm_90 GPU (H100 SXM, H200)";
  const int sms = kind.sms;
  cuda::configure_grouped_gemms();
  for (const auto& [tile, ctas] : cuda::hopper_waves().ctas)
    EXPECT_EQ(int64_t(sms) * cuda::resident_ctas_per_sm(tile), ctas) << cuda::gemm_name(tile);
}

// Held to fewer CTAs per SM (common/launch.h's Launch::ctas_per_sm, moe/dispatch.h's ctas_per_sm_for_waves), the
// kernels of each tile the dispatch may hold so (the two-slice K-split tile, the unsplit 8-token tiles) hold exactly
// that many: their padded shared memory neither falls short of the cap nor takes a CTA more from it.
TEST(GpuOccupancy, CappedTilesHoldTheirCap) {
  FP4MOE_REQUIRE_GPU();
  cuda::configure_grouped_gemms();
  for (const cuda::MmaTileConfig& tile : {cuda::kDecodeTile, cuda::kSmallBatchTile, cuda::kSmallBatchTileTwoMTiles}) {
    const std::string name = cuda::gemm_name(tile);
    const int resident = cuda::resident_ctas_per_sm(tile);
    ASSERT_GE(resident, 2) << name << ": the cap the dispatch sets is one CTA fewer than fit";
    for (int cap = 1; cap <= resident; ++cap)
      EXPECT_EQ(cuda::resident_ctas_per_sm(tile, cap), cap) << name << " held to " << cap;
    EXPECT_EQ(cuda::resident_ctas_per_sm(tile, resident + 1), resident) << name << ": a cap above what fits";
  }
}

// A wgmma tile sized for several CTAs per SM (its consumers' registers split for that many; the
// persistent GEMM 2 launches that many per SM) must fit them.
TEST(GpuOccupancy, WgmmaTilesFitTheirCtasPerSm) {
  FP4MOE_REQUIRE_GPU();
  if (device_kind().major != 9) GTEST_SKIP() << "wgmma tiles run on sm_90 only";
  cuda::configure_grouped_gemms();
  for (const cuda::MmaTileConfig& tile : cuda::compiled_gemm_tiles())
    if (tile.wgmma) EXPECT_GE(cuda::resident_ctas_per_sm(tile), tile.ctas_per_sm) << cuda::gemm_name(tile);
}

}  // namespace
}  // namespace fp4moe
