// NVFP4 quantization of activations on the device, bit-exact with the host codec (same header).
// The layer uses "fake" quantization: it writes the dequantized BF16 value e2m1(q)*e4m3(s)
// (exact), which the BF16 GEMMs consume as they are, the 1/global_scale going into the GEMM
// epilogue. That is the W4A4 contract on Hopper, which has no FP4 tensor cores.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/common/launch.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/scale_layout.h"

namespace fp4moe::cuda {

// Where a W4A4 activation's global scale comes from: 1/input_scale when calibrated, else the
// amax this forward accumulated on the device (FP32 bits, order-independent atomicMax).
struct GlobalScaleSource {
  float calibrated;            // > 0: use this global scale
  const uint32_t* amax_bits;   // otherwise global_scale_from_amax(bits)

  FP4MOE_HD float resolve() const {
#if defined(__CUDA_ARCH__)
    return calibrated > 0.0f ? calibrated : global_scale_from_amax(__uint_as_float(*amax_bits));
#else
    return calibrated;
#endif
  }
};

// amax_bits = max(amax_bits, bits of max|x|) over n elements (n a multiple of 8, x 16-byte aligned),
// walking x from its end, so that launch_fake_quantize_input after it starts on lines still in L2.
// x is the caller's input, in place before the forward began: it is read before the wait for the
// kernel before (the plan, which zeroes amax_bits); only the atomic waits.
void launch_amax(const bf16* x, int64_t n, uint32_t* amax_bits, const Launch& launch);

// The decode forward's W4A4 quantization of x (gemm/decode_gemm.h), for at most
// kDecodeQuantizeMaxElements elements: fake quantization as below, where with a dynamic scale each
// CTA first takes the amax of all of x itself, so that no kernel before it has to reset a
// device-wide maximum. It also stores that amax in amax_bits[0] (for GEMM 1's epilogue) and zeroes
// amax_bits[1], which GEMM 1 accumulates the intermediate's amax into. Same results as launch_amax
// then launch_fake_quantize_input.
inline constexpr int64_t kDecodeQuantizeMaxElements = 65536;
void launch_decode_fake_quantize(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale,
                                 uint32_t* amax_bits, bf16* out, const Launch& launch);

// x [rows, cols] -> packed [rows, cols/2] and E4M3 scales in `layout` (the public quantizer).
void launch_quantize_nvfp4(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale, uint8_t* packed,
                           uint8_t* scales, ScaleLayout layout, const Launch& launch);

// x [rows, cols] -> out [rows, cols] BF16 holding e2m1(q)*e4m3(s), where x is the caller's input, in
// place before the forward began: read before the wait for the kernel before, which only a device
// amax (the global scale) and the kernel's end wait for.
void launch_fake_quantize_input(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale, bf16* out,
                                const Launch& launch);

// The same for an FP32 src that the kernel before writes (GEMM 1's h), read after waiting for it. When
// `device_rows` is not null only the first *device_rows rows (<= max_rows) are processed. discard_src:
// each line of src read is then dropped from L2, unwritten (src is scratch: its values become undefined);
// only where fake_quantize_can_discard(src, cols), rows of whole aligned 128-byte lines.
void launch_fake_quantize(const float* src, int64_t max_rows, const int* device_rows, int64_t cols,
                          GlobalScaleSource scale, bf16* out, const Launch& launch, bool discard_src = false);
bool fake_quantize_can_discard(const float* src, int64_t cols);

}  // namespace fp4moe::cuda
