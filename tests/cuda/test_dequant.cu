// The in-register NVFP4 -> BF16 dequantization against the host codec, exhaustively: for each of
// the four k16 steps of a scale word and the four registers of a step, every checkpoint byte (two
// codes) times every valid E4M3 scale (finite, >= 0), through the load-time encodings, must give
// the exact product times the dequantization bias 2^-kDequantBiasLog2; and the other registers of
// the word must stay zero. The other steps' scale bytes hold different scales, so a step that
// reads the wrong byte fails. (A zero scale decodes to a finite value; the repack zeroes the codes
// of such blocks, as here.)
#include "cuda/format/dequant.cuh"
#include "fp4moe/format/nvfp4.h"
#include "gpu_test.h"

namespace fp4moe::cuda {
namespace {

constexpr int kValidScales = 0x7F;  // 0x7F is NaN and 0x80.. are negative: rejected at load

constexpr int kSteps = 4;

// A scale word with `scale` in step `step`'s byte and other nonzero scales in the other bytes.
__device__ uint32_t scale_word(int step, int scale, int decoy_offset) {
  uint32_t word = 0;
  for (int s = 0; s < kSteps; ++s) {
    const int e4m3 = s == step ? scale : (scale + decoy_offset + s) % (kValidScales - 1) + 1;
    word |= uint32_t(encode_scale(uint8_t(e4m3))) << (8 * s);
  }
  return word;
}

template <int kStep>
__device__ void dequant_step(uint32_t word, uint32_t scales_lo, uint32_t scales_hi, uint32_t (&a)[4]) {
  dequant_a_fragment<kStep>(word, scales_lo, scales_hi, a);
}

// out[(((step * 4 + register) * 256 + byte) * kValidScales + scale) * 4 + r] = register r of the
// decoded fragment of k16 step `step`, for a word holding `byte` in `register` and zeros elsewhere.
__global__ void dequant_all_kernel(uint32_t* out) {
  const int step = blockIdx.x / (4 * kValidScales), reg = blockIdx.x / kValidScales % 4;
  const int scale = blockIdx.x % kValidScales, byte = threadIdx.x;
  uint8_t bytes[4] = {0, 0, 0, 0};
  bytes[reg] = scale == 0 ? 0 : uint8_t(byte);  // as the repack does: a zero-scale block has zero codes
  const uint32_t word = encode_step_word(bytes);
  // Rows g (lo) and g+8 (hi) get the same scale in this step and different decoys elsewhere.
  const uint32_t lo = scale_word(step, scale, 1), hi = scale_word(step, scale, 2);
  uint32_t a[4];
  switch (step) {
    case 0: dequant_step<0>(word, lo, hi, a); break;
    case 1: dequant_step<1>(word, lo, hi, a); break;
    case 2: dequant_step<2>(word, lo, hi, a); break;
    default: dequant_step<3>(word, lo, hi, a); break;
  }
  for (int r = 0; r < 4; ++r) out[(((size_t(step) * 4 + reg) * 256 + byte) * kValidScales + scale) * 4 + r] = a[r];
}

TEST(GpuDequant, EveryCodePairTimesEveryScaleIsExact) {
  FP4MOE_REQUIRE_GPU();
  const size_t n = size_t(kSteps) * 4 * 256 * kValidScales * 4;
  Buffer out(Backend::kCuda, n * sizeof(uint32_t));
  out.fill(0xFF);
  dequant_all_kernel<<<kSteps * 4 * kValidScales, 256>>>(static_cast<uint32_t*>(out.data()));
  testing::sync_device();
  const auto bits = out.to_vector<uint32_t>(n);
  int checked = 0;
  for (int step = 0; step < kSteps; ++step) {
    for (int reg = 0; reg < 4; ++reg) {
      for (int byte = 0; byte < 256; ++byte) {
        for (int scale = 0; scale < kValidScales; ++scale) {
          const float s = e4m3_to_float(uint8_t(scale)) / kDequantBias;
          const uint32_t* got = &bits[(((size_t(step) * 4 + reg) * 256 + byte) * kValidScales + scale) * 4];
          for (int r = 0; r < 4; ++r) {
            const float lo = bits_to_float(got[r] << 16), hi = bits_to_float(got[r] & 0xFFFF0000u);
            const float want_lo = r == reg ? e2m1_to_float(uint8_t(byte & 15)) * s : 0.0f;
            const float want_hi = r == reg ? e2m1_to_float(uint8_t(byte >> 4)) * s : 0.0f;
            // Values, and signs where the value is not zero (a -0 from a zero scale is still zero).
            ASSERT_EQ(lo, want_lo) << "step " << step << " register " << reg << "/" << r << " byte " << byte
                                   << " scale " << scale;
            ASSERT_EQ(hi, want_hi) << "step " << step << " register " << reg << "/" << r << " byte " << byte
                                   << " scale " << scale;
            if (want_lo != 0.0f) ASSERT_EQ(float_to_bits(lo), float_to_bits(want_lo));
            if (want_hi != 0.0f) ASSERT_EQ(float_to_bits(hi), float_to_bits(want_hi));
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, kSteps * 4 * 256 * kValidScales);
}

}  // namespace
}  // namespace fp4moe::cuda
