// `fp4moe bench`'s kernel times without a GPU: kernel names shortened, records summed per forward,
// and the GEMMs' time as the union of their intervals (overlapping launches counted once).
#include <gtest/gtest.h>

#include "cli/kernel_times.h"

namespace fp4moe::cli {
namespace {

TEST(KernelTimes, NamesLoseReturnTypeParametersAndNamespaces) {
  EXPECT_EQ(short_kernel_name("void fp4moe::cuda::(anonymous namespace)::grouped_gemm_nvfp4_mma_kernel<fp4moe::cuda::"
                              "MmaTile<4, 1, 8, 8, 4, false, 1, 1>, fp4moe::cuda::GateUpEpilogue, false>(fp4moe::"
                              "cuda::PackedExpertWeights, fp4moe::cuda::GemmInput)"),
            "grouped_gemm_nvfp4_mma_kernel<MmaTile<4, 1, 8, 8, 4, false, 1, 1>, GateUpEpilogue, false>");
  EXPECT_EQ(short_kernel_name("fp4moe::cuda::(anonymous namespace)::combine_kernel(float const*, int const*, int)"),
            "combine_kernel");
  EXPECT_EQ(short_kernel_name("void k<(anonymous namespace)::f(int)>(int)"), "k<f(int)>")
      << "a '(' inside template arguments is not the parameter list";
  EXPECT_EQ(short_kernel_name("_Z6kernelv"), "_Z6kernelv") << "a name that did not demangle stays";
}

TEST(KernelTimes, SumsPerForwardLongestFirst) {
  const std::vector<KernelRecord> records = {
      {"void fp4moe::a_gemm_kernel<1>(int)", 1000, 4000},   // forward 1: 3 us
      {"fp4moe::combine_kernel(int)", 4000, 5000},          // 1 us
      {"void fp4moe::a_gemm_kernel<1>(int)", 10000, 15000},  // forward 2: 5 us
      {"fp4moe::combine_kernel(int)", 15000, 16000},
      {"fp4moe::combine_kernel(int)", 16000, 17000},        // a second call in forward 2
  };
  const KernelTimes t = summarize_kernels(records, 2);
  ASSERT_EQ(t.kernels.size(), 2u);
  EXPECT_EQ(t.kernels[0].name, "a_gemm_kernel<1>");
  EXPECT_DOUBLE_EQ(t.kernels[0].us_per_forward, 4.0);
  EXPECT_DOUBLE_EQ(t.kernels[0].calls_per_forward, 1.0);
  EXPECT_EQ(t.kernels[1].name, "combine_kernel");
  EXPECT_DOUBLE_EQ(t.kernels[1].us_per_forward, 1.5);
  EXPECT_DOUBLE_EQ(t.kernels[1].calls_per_forward, 1.5);
  EXPECT_DOUBLE_EQ(t.gemm_us, 4.0);
}

TEST(KernelTimes, OverlappingGemmsCountOnce) {
  // GEMM 2 launched beside GEMM 1 (programmatic dependent launch): 0-10 and 6-14 cover 14 us, not 18;
  // a third GEMM after a gap adds its own 2.
  const std::vector<KernelRecord> records = {
      {"gemm1_kernel", 0, 10000}, {"gemm2_kernel", 6000, 14000}, {"gemm1_kernel", 20000, 22000},
      {"plan_kernel", 14000, 30000}};
  const KernelTimes t = summarize_kernels(records, 1);
  EXPECT_DOUBLE_EQ(t.gemm_us, 16.0);
  EXPECT_EQ(t.kernels[0].name, "plan_kernel");
  EXPECT_DOUBLE_EQ(t.kernels[1].us_per_forward, 12.0) << "gemm1_kernel's two calls";
}

TEST(KernelTimes, AGemmIsMarkedByItsWholeName) {
  // GEMM 2's persistent kernel has no "gemm" in its own name, but its parameters' types do (as in
  // bench_moe.py's marker, which reads the whole demangled name).
  const std::vector<KernelRecord> records = {
      {"void fp4moe::cuda::grouped_gemm_wgmma_kernel<1>(fp4moe::cuda::GemmInput)", 0, 10000},
      {"void fp4moe::cuda::persistent_down_wgmma_kernel<1>(fp4moe::cuda::GemmInput)", 12000, 18000},
      {"fp4moe::cuda::combine_kernel(float const*)", 18000, 20000}};
  const KernelTimes t = summarize_kernels(records, 1);
  EXPECT_DOUBLE_EQ(t.gemm_us, 16.0);
  EXPECT_EQ(t.kernels[1].name, "persistent_down_wgmma_kernel<1>");
}

TEST(KernelTimes, NoGemmNoRecords) {
  EXPECT_LT(summarize_kernels({{"combine_kernel", 0, 5}}, 1).gemm_us, 0.0);
  const KernelTimes none = summarize_kernels({}, 3);
  EXPECT_TRUE(none.kernels.empty());
  EXPECT_LT(none.gemm_us, 0.0);
}

}  // namespace
}  // namespace fp4moe::cli
