// The codecs as the GPU compiles them against the host's arithmetic, on every input: the E4M3
// conversions (hardware instructions on sm_89+) against the soft codec, e2m1_round against encoding
// then decoding, and the epilogues' sigmoid against the one from __expf it replaced. Each runs on
// the device, so a difference in the device's float arithmetic (rounding, NaNs, subnormals) shows.
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/moe/activation.h"
#include "gpu_test.h"

namespace fp4moe::cuda {
namespace {

enum Check { kE4M3Encode, kE2M1Round, kSigmoid, kChecks };
const char* const kCheckNames[kChecks] = {"float_to_e4m3", "e2m1_round", "sigmoid"};

// How many inputs went through every check; per check, how many differed and one of those inputs.
struct Tally {
  unsigned long long compared;
  unsigned long long mismatches[kChecks];
  uint32_t example[kChecks];
};

__device__ bool same_float(float a, float b) {
  return float_to_bits(a) == float_to_bits(b) || (is_nan(a) && is_nan(b));
}

__device__ void record(Tally* tally, Check check, bool same, uint32_t input) {
  if (!same) {
    atomicAdd(&tally->mismatches[check], 1ull);
    tally->example[check] = input;
  }
}

// Every float bit pattern, grid-stride; each thread adds its count of inputs at the end.
__global__ void every_float_kernel(Tally* tally) {
  unsigned long long count = 0;
  const uint64_t stride = uint64_t(gridDim.x) * blockDim.x;
  for (uint64_t i = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (uint64_t(1) << 32); i += stride) {
    const uint32_t bits = uint32_t(i);
    const float x = bits_to_float(bits);
    record(tally, kE4M3Encode, float_to_e4m3(x) == soft_float_to_e4m3(x), bits);
    record(tally, kE2M1Round, float_to_bits(e2m1_round(x)) == float_to_bits(e2m1_to_float(float_to_e2m1(x))), bits);
    record(tally, kSigmoid, same_float(sigmoid(x), __fdividef(1.0f, 1.0f + __expf(-x))), bits);
    ++count;
  }
  atomicAdd(&tally->compared, count);
}

__global__ void every_e4m3_code_kernel(uint32_t* device_bits, uint32_t* soft_bits) {
  const uint8_t code = uint8_t(threadIdx.x);
  device_bits[code] = float_to_bits(e4m3_to_float(code));
  soft_bits[code] = float_to_bits(soft_e4m3_to_float(code));
}

TEST(GpuCodec, EveryFloatConvertsAsOnTheHost) {
  FP4MOE_REQUIRE_GPU();
  Buffer tally_buffer(Backend::kCuda, sizeof(Tally));
  tally_buffer.fill(0);
  every_float_kernel<<<4096, 256>>>(static_cast<Tally*>(tally_buffer.data()));
  testing::sync_device();
  const Tally tally = tally_buffer.to_vector<Tally>(1)[0];
  EXPECT_EQ(tally.compared, 1ull << 32);
  for (int c = 0; c < kChecks; ++c) {
    EXPECT_EQ(tally.mismatches[c], 0u) << kCheckNames[c] << " differs, e.g. at float bits 0x" << std::hex
                                        << tally.example[c];
  }
}

TEST(GpuCodec, EveryE4M3CodeDecodesAsOnTheHost) {
  FP4MOE_REQUIRE_GPU();
  Buffer device_bits(Backend::kCuda, 256 * sizeof(uint32_t)), soft_bits(Backend::kCuda, 256 * sizeof(uint32_t));
  device_bits.fill(0xA5);
  soft_bits.fill(0x5A);
  every_e4m3_code_kernel<<<1, 256>>>(static_cast<uint32_t*>(device_bits.data()),
                                     static_cast<uint32_t*>(soft_bits.data()));
  testing::sync_device();
  const auto got = device_bits.to_vector<uint32_t>(256), want = soft_bits.to_vector<uint32_t>(256);
  for (int code = 0; code < 256; ++code) {
    EXPECT_EQ(got[code], want[code]) << "code 0x" << std::hex << code;
    EXPECT_EQ(want[code], float_to_bits(soft_e4m3_to_float(uint8_t(code)))) << "code 0x" << std::hex << code;
  }
}

}  // namespace
}  // namespace fp4moe::cuda
