// The device quantizer against the host codec, bit for bit: packed codes and scales in both
// layouts, the fake-quantized BF16 values, and the device amax. Inputs cover every magnitude
// range, exact code boundaries, zeros-only blocks, Inf and NaN.
#include <cmath>
#include <tuple>

#include "common/random_inputs.h"
#include "cuda/quant/quantize.h"
#include "fp4moe/format/quantize.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

std::vector<bf16> hostile_activations(int64_t rows, int64_t cols, testing::Rng& rng) {
  std::vector<bf16> x = testing::random_bf16(size_t(rows * cols), rng, 3.0);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const int pick = rng.below(64);
    if (pick == 0) x[i] = float_to_bf16(float(rng.uniform(-1e-6, 1e-6)));  // tiny
    if (pick == 1) x[i] = float_to_bf16(float(rng.uniform(-1e4, 1e4)));    // large
    if (pick == 2) x[i] = float_to_bf16(0.25f * float(rng.below(25) - 12));  // code boundaries
  }
  for (int64_t i = 0; i < 16; ++i) x[size_t(i)] = float_to_bf16(0.0f);  // an all-zero block
  return x;
}

void expect_device_matches_host(const std::vector<bf16>& x, int64_t rows, int64_t cols, float global_scale,
                                ScaleLayout layout) {
  const size_t packed_bytes = size_t(rows * cols / 2), scale_size = size_t(scale_bytes(layout, rows, cols));
  std::vector<uint8_t> want_packed(packed_bytes), want_scales(scale_size, 0);
  quantize_nvfp4(x.data(), rows, cols, global_scale, want_packed.data(), want_scales.data(), layout);

  Buffer dx = testing::to_device(x), packed(Backend::kCuda, packed_bytes), scales(Backend::kCuda, scale_size);
  packed.fill(0xAB);
  scales.fill(0);  // the swizzled padding is 0 on the host too
  cuda::launch_quantize_nvfp4(static_cast<const bf16*>(dx.data()), rows, cols, cuda::GlobalScaleSource{global_scale, nullptr},
                              static_cast<uint8_t*>(packed.data()), static_cast<uint8_t*>(scales.data()), layout, cuda::Launch{});
  testing::sync_device();
  EXPECT_EQ(testing::to_host<uint8_t>(packed, packed_bytes), want_packed);
  EXPECT_EQ(testing::to_host<uint8_t>(scales, scale_size), want_scales);
}

TEST(GpuQuantize, BitExactWithHostCodecBothLayouts) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(11);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 16}, {37, 80}, {130, 2048}, {3, 7168}}) {
    const auto x = hostile_activations(rows, cols, rng);
    const float gs = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
    expect_device_matches_host(x, rows, cols, gs, ScaleLayout::kLinear);
    expect_device_matches_host(x, rows, cols, gs, ScaleLayout::kSwizzled128x4);
    expect_device_matches_host(x, rows, cols, gs * 0.37f, ScaleLayout::kLinear);  // saturating codes
  }
}

TEST(GpuQuantize, FakeQuantizeEqualsHostDequantizeWithoutGlobalScale) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(12);
  const int64_t rows = 65, cols = 272;
  auto x = hostile_activations(rows, cols, rng);
  x[5 * cols + 3] = float_to_bf16(std::nanf(""));  // row 5, block 0 -> NaN scale -> NaN values
  const float gs = 2688.0f / 9000.0f;

  std::vector<uint8_t> packed(size_t(rows * cols / 2)), scales(size_t(rows * cols / 16));
  quantize_nvfp4(x.data(), rows, cols, gs, packed.data(), scales.data());
  std::vector<float> want(size_t(rows * cols));
  dequantize_nvfp4(packed.data(), scales.data(), rows, cols, ScaleLayout::kLinear, 1.0f, want.data());

  Buffer dx = testing::to_device(x), out(Backend::kCuda, x.size() * sizeof(bf16));
  out.fill(0xFF);
  cuda::launch_fake_quantize(static_cast<const bf16*>(dx.data()), rows, nullptr, cols, cuda::GlobalScaleSource{gs, nullptr},
                             static_cast<bf16*>(out.data()), cuda::Launch{});
  testing::sync_device();
  const auto got = testing::to_host<bf16>(out, x.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const float g = bf16_to_float(got[i]);
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(g)) << "element " << i;
    } else {
      ASSERT_EQ(g, want[i]) << "element " << i;
    }
  }
  EXPECT_TRUE(std::isnan(bf16_to_float(got[size_t(5 * cols)])));
}

TEST(GpuQuantize, DeviceAmaxMatchesHostAndPropagatesNaN) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(13);
  auto x = testing::random_bf16(4096 * 8, rng, 2.0);
  Buffer dx = testing::to_device(x), bits(Backend::kCuda, sizeof(uint32_t));
  bits.fill(0);
  cuda::launch_amax(static_cast<const bf16*>(dx.data()), int64_t(x.size()), static_cast<uint32_t*>(bits.data()), cuda::Launch{});
  testing::sync_device();
  EXPECT_EQ(bits_to_float(testing::to_host<uint32_t>(bits, 1)[0]), amax(x.data(), int64_t(x.size())));

  x[777] = float_to_bf16(std::nanf(""));
  dx = testing::to_device(x);
  bits.fill(0);
  cuda::launch_amax(static_cast<const bf16*>(dx.data()), int64_t(x.size()), static_cast<uint32_t*>(bits.data()), cuda::Launch{});
  testing::sync_device();
  EXPECT_TRUE(std::isnan(bits_to_float(testing::to_host<uint32_t>(bits, 1)[0])));
}

// The decode forward's quantization of x (each CTA takes the amax itself) against the general
// chain's two kernels (launch_amax, then launch_fake_quantize with that amax): the same BF16
// values bit for bit, the same amax bits in amax_bits[0], and amax_bits[1] zeroed; dynamic and
// calibrated scales, several CTAs, and a NaN that must reach every block.
TEST(GpuQuantize, DecodeFakeQuantizeEqualsAmaxThenFakeQuantize) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(14);
  for (auto [rows, cols, calibrated, nan] : {std::tuple<int64_t, int64_t, float, bool>{1, 2048, 0.0f, false},
                                             {4, 7168, 0.0f, false},
                                             {9, 7168, 0.0f, true},
                                             {3, 272, 2688.0f / 500.0f, false}}) {
    ASSERT_LE(rows * cols, cuda::kDecodeQuantizeMaxElements);
    auto x = hostile_activations(rows, cols, rng);
    if (nan) x[size_t(rows * cols - 5)] = float_to_bf16(std::nanf(""));
    Buffer dx = testing::to_device(x), want(Backend::kCuda, x.size() * sizeof(bf16)),
           got(Backend::kCuda, x.size() * sizeof(bf16)), want_bits(Backend::kCuda, 2 * sizeof(uint32_t)),
           got_bits(Backend::kCuda, 2 * sizeof(uint32_t));
    const auto* src = static_cast<const bf16*>(dx.data());
    want_bits.fill(0);
    got_bits.fill(0x5A);  // the decode kernel overwrites both words
    want.fill(0xFF);
    got.fill(0xFF);
    auto* wb = static_cast<uint32_t*>(want_bits.data());
    auto* gb = static_cast<uint32_t*>(got_bits.data());
    if (calibrated == 0.0f) cuda::launch_amax(src, rows * cols, wb, cuda::Launch{});
    cuda::launch_fake_quantize(src, rows, nullptr, cols, cuda::GlobalScaleSource{calibrated, wb},
                               static_cast<bf16*>(want.data()), cuda::Launch{});
    cuda::launch_decode_fake_quantize(src, rows, cols, cuda::GlobalScaleSource{calibrated, gb}, gb,
                                      static_cast<bf16*>(got.data()), cuda::Launch{});
    testing::sync_device();
    const auto w = testing::to_host<bf16>(want, x.size()), g = testing::to_host<bf16>(got, x.size());
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_EQ(g[i].bits, w[i].bits) << "element " << i << " of " << rows << "x" << cols;
    const auto wbits = testing::to_host<uint32_t>(want_bits, 2), gbits = testing::to_host<uint32_t>(got_bits, 2);
    if (calibrated == 0.0f) EXPECT_EQ(gbits[0], wbits[0]);
    EXPECT_EQ(gbits[1], 0u) << "the intermediate's amax starts from zero";
    if (nan) EXPECT_TRUE(std::isnan(bf16_to_float(g[0]))) << "a NaN amax poisons every block";
  }
}

}  // namespace
}  // namespace fp4moe
