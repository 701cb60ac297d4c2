// The device quantizer against the host codec, bit for bit: packed codes and scales in both
// layouts, the fake-quantized BF16 values, and the device amax. Inputs cover every magnitude
// range, exact code boundaries, zeros-only blocks, Inf and NaN.
#include <cmath>
#include <tuple>

#include "common/expect_error.h"
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

  const Buffer dx = Buffer::copy_of(Backend::kCuda, x);
  Buffer packed(Backend::kCuda, packed_bytes), scales(Backend::kCuda, scale_size);
  packed.fill(0xAB);
  scales.fill(0);  // the swizzled padding is 0 on the host too
  cuda::launch_quantize_nvfp4(static_cast<const bf16*>(dx.data()), rows, cols,
                              cuda::GlobalScaleSource{global_scale, nullptr}, static_cast<uint8_t*>(packed.data()),
                              static_cast<uint8_t*>(scales.data()), layout, cuda::Launch{});
  testing::sync_device();
  EXPECT_EQ(packed.to_vector<uint8_t>(packed_bytes), want_packed);
  EXPECT_EQ(scales.to_vector<uint8_t>(scale_size), want_scales);
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

  Buffer dx = Buffer::copy_of(Backend::kCuda, x), out(Backend::kCuda, x.size() * sizeof(bf16));
  out.fill(0xFF);
  cuda::launch_fake_quantize_input(static_cast<const bf16*>(dx.data()), rows, cols,
                                   cuda::GlobalScaleSource{gs, nullptr}, static_cast<bf16*>(out.data()),
                                   cuda::Launch{});
  testing::sync_device();
  const auto got = out.to_vector<bf16>(x.size());
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

// The layer's quantization of the FP32 intermediate (GEMM 1's output in W4A4): every element
// against the host codec bit for bit, with the scale calibrated or read from a device amax, and
// only the first *device_rows rows written (the rest keep their poison).
TEST(GpuQuantize, FakeQuantizeOfFp32RowsEqualsHostCodec) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(15);
  // 17 blocks per row; the larger size is a W4A4 prefill's intermediate (318,500 blocks).
  for (auto [rows, cols, written] : {std::tuple<int64_t, int64_t, int64_t>{37, 272, 30}, {5000, 1040, 4900}}) {
    std::vector<float> h(size_t(rows * cols));
    for (size_t i = 0; i < h.size(); ++i) {
      const int pick = rng.below(64);
      h[i] = pick == 0   ? float(rng.uniform(-1e-6, 1e-6))
             : pick == 1 ? float(rng.uniform(-1e4, 1e4))
                         : float(rng.uniform(-3.0, 3.0));
    }
    for (int64_t i = 0; i < 16; ++i) h[size_t(2 * cols + i)] = 0.0f;  // an all-zero block
    h[size_t(7 * cols + 40)] = std::nanf("");                         // row 7, block 2 -> NaN
    h[size_t(9 * cols + 100)] = INFINITY;                             // row 9, block 6 -> Inf scale
    float amax_value = 0.0f;
    for (int64_t i = 0; i < written * cols; ++i)
      if (std::isfinite(h[size_t(i)])) amax_value = std::max(amax_value, std::fabs(h[size_t(i)]));
    const uint32_t amax_word = float_to_bits(amax_value);
    const float gs = global_scale_from_amax(amax_value);

    std::vector<uint16_t> want(h.size(), 0xFFFF);
    for (int64_t b = 0; b < written * cols / kNvfp4BlockSize; ++b) {
      float values[kNvfp4BlockSize];
      for (int i = 0; i < kNvfp4BlockSize; ++i) values[i] = h[size_t(b * kNvfp4BlockSize + i)];
      uint8_t codes[kNvfp4BlockSize / 2];
      const float s = e4m3_to_float(quantize_nvfp4_block(values, gs, codes));
      for (int i = 0; i < kNvfp4BlockSize; ++i)
        want[size_t(b * kNvfp4BlockSize + i)] = float_to_bf16(e2m1_to_float(unpack_e2m1(codes[i / 2], i % 2)) * s).bits;
    }

    Buffer dh = Buffer::copy_of(Backend::kCuda, h), out(Backend::kCuda, h.size() * sizeof(bf16));
    Buffer count = Buffer::copy_of(Backend::kCuda, std::vector<int>{int(written)});
    Buffer amax_bits = Buffer::copy_of(Backend::kCuda, std::vector<uint32_t>{amax_word});
    for (const cuda::GlobalScaleSource source :
         {cuda::GlobalScaleSource{gs, nullptr},
          cuda::GlobalScaleSource{0.0f, static_cast<uint32_t*>(amax_bits.data())}}) {
      out.fill(0xFF);
      cuda::launch_fake_quantize(static_cast<const float*>(dh.data()), rows, static_cast<const int*>(count.data()),
                                 cols, source, static_cast<bf16*>(out.data()), cuda::Launch{});
      testing::sync_device();
      const auto got = out.to_vector<bf16>(h.size());
      int64_t mismatches = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const bool nan = std::isnan(bf16_to_float(bf16{want[i]}));  // the device rounds a NaN to 0x7FFF
        if (nan ? !std::isnan(bf16_to_float(got[i])) : got[i].bits != want[i])
          ADD_FAILURE() << "element " << i << (source.calibrated > 0 ? ", calibrated" : ", device amax")
                        << (++mismatches > 20 ? " (stopping)" : "");
        if (mismatches > 20) break;
      }
    }
    EXPECT_TRUE(std::isnan(bf16_to_float(bf16{want[size_t(7 * cols + 32)]}))) << "the NaN block stays NaN";
  }
}

// With discard_src the kernel drops each line of src from L2 once its lanes have read it (the layer's FP32 h, where y
// is to stay in L2): the output is bit for bit the plain kernel's, on rows of whole 128-byte lines (256 and qwen3's
// 768 columns), with a NaN, an Inf and the row count read from the device. src's bytes are undefined afterwards,
// so the plain kernel runs first. Rows that are not whole lines, or an src off a line, are refused.
TEST(GpuQuantize, FakeQuantizeDiscardingItsSourceEqualsThePlainKernel) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(16);
  for (auto [rows, cols, written] : {std::tuple<int64_t, int64_t, int64_t>{37, 256, 29}, {4096, 768, 4001}}) {
    std::vector<float> h(size_t(rows * cols));
    for (float& v : h) v = float(rng.uniform(-3.0, 3.0));
    h[size_t(7 * cols + 40)] = std::nanf("");
    h[size_t(9 * cols + 100)] = INFINITY;
    Buffer dh = Buffer::copy_of(Backend::kCuda, h);
    Buffer count = Buffer::copy_of(Backend::kCuda, std::vector<int>{int(written)});
    const auto run = [&](bool discard) {
      Buffer out(Backend::kCuda, h.size() * sizeof(bf16));
      out.fill(0xFF);
      cuda::launch_fake_quantize(static_cast<const float*>(dh.data()), rows, static_cast<const int*>(count.data()),
                                 cols, cuda::GlobalScaleSource{0.37f, nullptr}, static_cast<bf16*>(out.data()),
                                 cuda::Launch{}, discard);
      testing::sync_device();
      return out.to_vector<bf16>(h.size());
    };
    ASSERT_TRUE(cuda::fake_quantize_can_discard(static_cast<const float*>(dh.data()), cols));
    const auto plain = run(false), discarding = run(true);
    int64_t differing = 0;
    for (size_t i = 0; i < plain.size(); ++i) differing += plain[i].bits != discarding[i].bits;
    EXPECT_EQ(differing, 0) << rows << "x" << cols;
    EXPECT_EQ(plain[size_t(written * cols)].bits, 0xFFFF) << "rows past the device's count keep their poison";
    EXPECT_TRUE(std::isnan(bf16_to_float(discarding[size_t(7 * cols + 40)])));
  }
  Buffer dh(Backend::kCuda, sizeof(float) * 64 * 288), out(Backend::kCuda, sizeof(bf16) * 64 * 288);
  const float* src = static_cast<const float*>(dh.data());
  const auto discard = [&](const float* from, int64_t cols) {
    cuda::launch_fake_quantize(from, 8, nullptr, cols, cuda::GlobalScaleSource{1.0f, nullptr},
                               static_cast<bf16*>(out.data()), cuda::Launch{}, true);
  };
  const char* refused =
      "fp4moe: h quantization: discard_src: expected only where src's rows are whole aligned 128-byte lines "
      "(fake_quantize_can_discard), got src or cols unaligned";
  testing::expect_error([&] { discard(src, 272); }, refused);
  testing::expect_error([&] { discard(src + 16, 256); }, refused);
}

// The larger size takes the grid-stride loop several rounds (1.1 million 8-element vectors: a round
// of kAmaxLoadsInFlight vectors a thread, then a partial one). A NaN wins wherever it is: in the first
// vectors or in the last.
TEST(GpuQuantize, DeviceAmaxMatchesHostAndPropagatesNaN) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(13);
  for (int64_t n : {int64_t(4096) * 8, int64_t(1100000) * 8 + 8 * 37}) {
    for (int64_t nan_at : {int64_t(-1), int64_t(777), n - 3}) {
      auto x = testing::random_bf16(size_t(n), rng, 2.0);
      if (nan_at >= 0) x[size_t(nan_at)] = float_to_bf16(std::nanf(""));
      Buffer dx = Buffer::copy_of(Backend::kCuda, x), bits(Backend::kCuda, sizeof(uint32_t));
      bits.fill(0);
      cuda::launch_amax(static_cast<const bf16*>(dx.data()), n, static_cast<uint32_t*>(bits.data()), cuda::Launch{});
      testing::sync_device();
      const float got = bits_to_float(bits.to_vector<uint32_t>(1)[0]);
      if (nan_at >= 0) EXPECT_TRUE(std::isnan(got)) << n << " elements, NaN at " << nan_at;
      else EXPECT_EQ(got, amax(x.data(), n)) << n << " elements";
    }
  }
}

// The decode forward's quantization of x (each CTA takes the amax itself) against the general
// chain's two kernels (launch_amax, then launch_fake_quantize_input with that amax): the same BF16
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
    Buffer dx = Buffer::copy_of(Backend::kCuda, x), want(Backend::kCuda, x.size() * sizeof(bf16)),
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
    cuda::launch_fake_quantize_input(src, rows, cols, cuda::GlobalScaleSource{calibrated, wb},
                                     static_cast<bf16*>(want.data()), cuda::Launch{});
    cuda::launch_decode_fake_quantize(src, rows, cols, cuda::GlobalScaleSource{calibrated, gb}, gb,
                                      static_cast<bf16*>(got.data()), cuda::Launch{});
    testing::sync_device();
    const auto w = want.to_vector<bf16>(x.size()), g = got.to_vector<bf16>(x.size());
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_EQ(g[i].bits, w[i].bits) << "element " << i << " of " << rows << "x" << cols;
    const auto wbits = want_bits.to_vector<uint32_t>(2), gbits = got_bits.to_vector<uint32_t>(2);
    if (calibrated == 0.0f) EXPECT_EQ(gbits[0], wbits[0]);
    EXPECT_EQ(gbits[1], 0u) << "the intermediate's amax starts from zero";
    if (nan) EXPECT_TRUE(std::isnan(bf16_to_float(g[0]))) << "a NaN amax poisons every block";
  }
}

}  // namespace
}  // namespace fp4moe
