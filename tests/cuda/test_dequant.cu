// The in-register NVFP4 -> BF16 dequantization against the host codec, exhaustively: every
// packed byte (two codes) times every non-NaN E4M3 scale must give the exact product.
#include "cuda/format/dequant.cuh"
#include "gpu_test.h"

namespace fp4moe::cuda {
namespace {

// out[scale][byte] = bits of {lo, hi} * scale through the device path.
__global__ void dequant_all_kernel(uint32_t* out) {
  const uint32_t scale = blockIdx.x, byte = threadIdx.x;
  const uint32_t packed = byte << 16;  // byte 2 of the word, to exercise the byte selection
  out[scale * 256 + byte] = bf16x2_bits(__hmul2(e2m1x2_to_bf16x2<2>(packed), e4m3_to_bf16x2(scale)));
}

TEST(GpuDequant, EveryCodePairTimesEveryScaleIsExact) {
  FP4MOE_REQUIRE_GPU();
  Buffer out(Backend::kCuda, 256 * 256 * sizeof(uint32_t));
  out.fill(0xFF);
  dequant_all_kernel<<<256, 256>>>(static_cast<uint32_t*>(out.data()));
  testing::sync_device();
  const auto bits = testing::to_host<uint32_t>(out, 256 * 256);
  int checked = 0;
  for (int scale = 0; scale < 256; ++scale) {
    const float s = e4m3_to_float(uint8_t(scale));
    for (int byte = 0; byte < 256; ++byte) {
      const uint32_t got = bits[scale * 256 + byte];
      const float lo = bits_to_float(got << 16), hi = bits_to_float(got & 0xFFFF0000u);
      const float want_lo = e2m1_to_float(uint8_t(byte & 15)) * s, want_hi = e2m1_to_float(uint8_t(byte >> 4)) * s;
      if (is_nan(s)) {
        EXPECT_TRUE(is_nan(lo) && is_nan(hi)) << "NaN scale must give NaN, byte " << byte;
        continue;
      }
      // Bit equality (so -0 stays -0), not just value equality.
      EXPECT_EQ(float_to_bits(lo), float_to_bits(want_lo)) << "scale " << scale << " byte " << byte;
      EXPECT_EQ(float_to_bits(hi), float_to_bits(want_hi)) << "scale " << scale << " byte " << byte;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 254 * 256);
}

}  // namespace
}  // namespace fp4moe::cuda
