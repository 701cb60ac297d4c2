// One thread quantizes one 16-element block with the shared codec (fp4moe/format/nvfp4.h).
#include <algorithm>
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/quant/block_io.cuh"
#include "cuda/quant/quantize.h"

namespace fp4moe::cuda {
namespace {

constexpr int kThreads = 256;

// max(bits, the FP32 bits of |v|) over the vector: as unsigned integers non-negative floats order like
// their values and a NaN's bits exceed Inf's, so a NaN wins (as in atomic_max_abs).
__device__ __forceinline__ uint32_t max_abs_bits(uint32_t bits, const float (&vector)[8]) {
  for (float value : vector) bits = max(bits, float_to_bits(value) & 0x7FFFFFFFu);
  return bits;
}

// The amax walks x from its end, kAmaxLoadsInFlight vectors of 8 a thread at a time. From the end: the
// fake quantization after it walks up, and a pass over a buffer larger than L2 finds in L2 only the
// lines the pass before it read last, so it has to start where that pass ended (x's quantization at
// qwen3 16384 tokens -5.6%; bench/results/h200-quantize-walk/). With four loads in flight a thread
// and integer maxima the amax itself took 2-6% less.
constexpr int kAmaxLoadsInFlight = 4;

// x is the caller's input, in place before the forward began: the successor may launch at once, the
// loads go before the wait (from L2), and only the atomic waits, for the plan that zeroes amax_bits.
// The kernel's end still means that every kernel before it has ended.
__global__ void amax_kernel(const bf16* x, int64_t n, uint32_t* amax_bits) {
  ptx::launch_dependent_grids();
  uint32_t bits = 0;
  const int64_t vectors = n / 8, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t v = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; v < vectors; v += kAmaxLoadsInFlight * stride) {
    float values[kAmaxLoadsInFlight][8] = {};
    for (int i = 0; i < kAmaxLoadsInFlight; ++i) {
      const int64_t step = v + i * stride;
      if (step < vectors) load_bf16x8<true>(x + (vectors - 1 - step) * 8, values[i]);
    }
    for (const auto& vector : values) bits = max_abs_bits(bits, vector);
  }
  bits = __reduce_max_sync(0xFFFFFFFFu, bits);
  ptx::grid_dependency_wait();
  if (threadIdx.x % 32 == 0) atomicMax(amax_bits, bits);
}

__global__ void quantize_kernel(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource source,
                                uint8_t* packed, uint8_t* scales, ScaleLayout layout) {
  ptx::wait_for_predecessor();
  const int64_t blocks_per_row = cols / kNvfp4BlockSize;
  const int64_t block = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (block >= rows * blocks_per_row) return;
  float values[kNvfp4BlockSize];
  load_block(x + block * kNvfp4BlockSize, values);
  uint8_t codes[kNvfp4BlockSize / 2];
  const uint8_t scale = quantize_nvfp4_block(values, source.resolve(), codes);
  store_bytes8(packed + block * (kNvfp4BlockSize / 2), codes);
  scales[scale_offset(layout, block / blocks_per_row, block % blocks_per_row, cols)] = scale;
}

// Block `block` of src through NVFP4 and back: out holds the values the codes and scale stand for.
// global_scale() is called after the block's loads are issued, so that a scale read from memory
// (GlobalScaleSource::resolve) overlaps them instead of delaying them.
template <bool kFromL2 = false, class T, class GlobalScale>
__device__ __forceinline__ void fake_quantize_block(const T* src, int64_t block, GlobalScale&& global_scale,
                                                    bf16* out) {
  float values[kNvfp4BlockSize];
  load_block<kFromL2>(src + block * kNvfp4BlockSize, values);
  fake_quantize_nvfp4_block(values, global_scale());
  store_bf16_block(values, out + block * kNvfp4BlockSize);
}

// With discard_src, each line of src leaves L2 once the kernel has read it, unwritten (ptx::discard_l2_line):
// GEMM 1's FP32 h is scratch, read once, and the L2 it takes is wanted for y (moe/dispatch.h's
// y_stays_in_l2). The lanes that read one 128-byte line are neighbours of one warp (the launch checks
// that src's rows are whole aligned lines); once all have read, the first drops the line.
template <class T>
__device__ void discard_read_line(const T* src, int64_t block, bool read) {
  constexpr int kBlocksPerLine = 128 / (kNvfp4BlockSize * sizeof(T));
  const uint32_t lanes = __ballot_sync(0xFFFFFFFFu, read);
  if (!read) return;
  __syncwarp(lanes);  // orders the line's loads before its discard
  if (block % kBlocksPerLine == 0) ptx::discard_l2_line(src + block * kNvfp4BlockSize);
}

// kSrcIsInput: src is the caller's x, in place before the forward began (as in
// routing/sorted_rows.cu). The successor may then launch at once and the loads go first, from L2; the
// wait comes where the global scale needs the amax kernel's result, and in any case before the end, so
// that this kernel's end still means that every kernel before it has ended (GEMM 1 reads the plan
// once this kernel has ended). Otherwise (h, GEMM 1's output) the wait comes first.
template <class T, bool kSrcIsInput>
__global__ void fake_quantize_kernel(const T* src, int64_t max_rows, const int* device_rows, int64_t cols,
                                     GlobalScaleSource source, bf16* out, bool discard_src) {
  if constexpr (kSrcIsInput) ptx::launch_dependent_grids();
  else ptx::wait_for_predecessor();
  const int64_t rows = device_rows ? min(max_rows, int64_t(*device_rows)) : max_rows;
  const int64_t block = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool in_range = block < rows * (cols / kNvfp4BlockSize);
  if (in_range) {
    fake_quantize_block<kSrcIsInput>(src, block, [&] {
      if (kSrcIsInput && source.calibrated <= 0.0f) ptx::grid_dependency_wait();  // the amax
      return source.resolve();
    }, out);
  }
  if (!kSrcIsInput && discard_src) discard_read_line(src, block, in_range);  // never the caller's x
  if constexpr (kSrcIsInput) ptx::grid_dependency_wait();
}

// The FP32 bits of max |x| over x[0, n) (n a multiple of 8), by the whole CTA (max_abs_bits). Every
// thread of the CTA calls it and gets the result.
__device__ uint32_t cta_amax_bits(const bf16* x, int64_t n) {
  __shared__ uint32_t warp_max[kThreads / 32];
  uint32_t bits = 0;
  for (int64_t v = threadIdx.x; v < n / 8; v += kThreads) {
    float values[8];
    load_bf16x8(x + v * 8, values);
    bits = max_abs_bits(bits, values);
  }
  bits = __reduce_max_sync(0xFFFFFFFFu, bits);
  if (threadIdx.x % 32 == 0) warp_max[threadIdx.x / 32] = bits;
  __syncthreads();
  for (int w = 0; w < kThreads / 32; ++w) bits = max(bits, warp_max[w]);
  return bits;
}

__global__ void __launch_bounds__(kThreads) decode_fake_quantize_kernel(const bf16* x, int64_t rows, int64_t cols,
                                                                        GlobalScaleSource source, uint32_t* amax_bits,
                                                                        bf16* out) {
  ptx::wait_for_predecessor();
  float global_scale = source.calibrated;
  if (global_scale <= 0.0f) {
    const uint32_t bits = cta_amax_bits(x, rows * cols);
    global_scale = global_scale_from_amax(bits_to_float(bits));
    if (blockIdx.x == 0 && threadIdx.x == 0) amax_bits[0] = bits;
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) amax_bits[1] = 0;
  const int64_t block = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (block >= rows * (cols / kNvfp4BlockSize)) return;
  fake_quantize_block(x, block, [&] { return global_scale; }, out);
}

unsigned grid_for(int64_t threads) { return unsigned(ceil_div(threads, kThreads)); }

template <class T, bool kSrcIsInput>
void launch_fake_quantize_impl(const T* src, int64_t max_rows, const int* device_rows, int64_t cols,
                               GlobalScaleSource scale, bf16* out, const Launch& launch, bool discard_src = false) {
  const int64_t blocks = max_rows * (cols / kNvfp4BlockSize);
  if (blocks == 0) return;
  launch_kernel(fake_quantize_kernel<T, kSrcIsInput>, grid_for(blocks), kThreads, 0, launch, "fake_quantize_kernel",
                src, max_rows, device_rows, cols, scale, out, discard_src);
}

}  // namespace

void launch_amax(const bf16* x, int64_t n, uint32_t* amax_bits, const Launch& launch) {
  if (n == 0) return;
  const unsigned grid = unsigned(std::min<int64_t>(ceil_div(n / 8, kThreads), 1024));
  launch_kernel(amax_kernel, grid, kThreads, 0, launch, "amax_kernel", x, n, amax_bits);
}

void launch_decode_fake_quantize(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale,
                                 uint32_t* amax_bits, bf16* out, const Launch& launch) {
  const int64_t elements = rows * cols;
  require(elements <= kDecodeQuantizeMaxElements, "decode quantization", "tokens * hidden",
          "at most " + std::to_string(kDecodeQuantizeMaxElements), elements);
  if (elements == 0) return;
  launch_kernel(decode_fake_quantize_kernel, grid_for(elements / kNvfp4BlockSize), kThreads, 0, launch,
                "decode_fake_quantize_kernel", x, rows, cols, scale, amax_bits, out);
}

void launch_quantize_nvfp4(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale, uint8_t* packed,
                           uint8_t* scales, ScaleLayout layout, const Launch& launch) {
  const int64_t blocks = rows * (cols / kNvfp4BlockSize);
  if (blocks == 0) return;
  launch_kernel(quantize_kernel, grid_for(blocks), kThreads, 0, launch, "quantize_kernel", x, rows, cols, scale, packed,
                scales, layout);
}

void launch_fake_quantize_input(const bf16* x, int64_t rows, int64_t cols, GlobalScaleSource scale, bf16* out,
                                const Launch& launch) {
  launch_fake_quantize_impl<bf16, true>(x, rows, nullptr, cols, scale, out, launch);
}

bool fake_quantize_can_discard(const float* src, int64_t cols) { return ptx::rows_are_whole_l2_lines(src, cols); }

void launch_fake_quantize(const float* src, int64_t max_rows, const int* device_rows, int64_t cols,
                          GlobalScaleSource scale, bf16* out, const Launch& launch, bool discard_src) {
  require(!discard_src || fake_quantize_can_discard(src, cols), "h quantization", "discard_src",
          "only where src's rows are whole aligned 128-byte lines (fake_quantize_can_discard)",
          "src or cols unaligned");
  launch_fake_quantize_impl<float, false>(src, max_rows, device_rows, cols, scale, out, launch, discard_src);
}

}  // namespace fp4moe::cuda
