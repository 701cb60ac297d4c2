// How fast an SM can write GEMM 2's FP32 output tiles, by store pattern: the question behind GEMM 2's
// epilogue (docs/performance-log.md: at qwen3 16384 tokens its y stores add about 230 us to a 750 us
// K loop). Each CTA writes 128-token x 256-feature FP32 tiles (128 KB) of a [rows, 2048] matrix, one
// after another, as GEMM 2's 128-token wgmma tile does, with nothing else to do:
//
//   fragment  the wgmma accumulator layout stored as it is: 4 bytes a lane, a warp instruction
//             covering 32 bytes of each of four token rows (what the kernels do today)
//   quads     the fragments exchanged within groups of four lanes (not counted) so that each lane
//             stores four consecutive features of one token (16 bytes): a warp instruction covers
//             64 bytes of each of eight token rows
//   lines     as quads, but eight lanes per token: a warp instruction covers one whole 128-byte
//             line of each of four token rows (the widest a warp's 32 features allow)
//   rows      the same bytes as whole 512-byte runs of one token row per warp instruction (16 bytes
//             a lane), as if the fragments had been exchanged between lanes first (that exchange
//             not counted)
//   bulk      the fragment layout written to shared memory, then one bulk copy per token row
//             (cp.async.bulk), waited for (read) before the next tile's shared writes
//
// Each runs with every SM writing and with a quarter of them, to the whole matrix (1 GiB: DRAM) and
// to a 16 MiB window of it that stays in L2. A pattern bound by the SM's own path takes as long per
// tile with a quarter of the SMs; one bound by DRAM gets faster per tile.
//
// Build and run (sm_90a): nvcc -O3 -std=c++17 -arch=sm_90a bench/micro/store_paths.cu -o /tmp/store_paths && /tmp/store_paths
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr int kHidden = 2048;       // floats per matrix row (qwen3's hidden size)
constexpr int kTileTokens = 128;    // token rows per tile
constexpr int kTileFeatures = 256;  // features per tile (GEMM 2's 256-row weight block)
constexpr int kThreads = 256;       // two consumer warpgroups
constexpr int kStagedRowFloats = kTileFeatures + 4;  // padded so a warp's fragment writes spread over the banks
constexpr int kStagedBytes = kTileTokens * kStagedRowFloats * 4;

enum class Pattern { kFragment, kQuads, kLines, kRows, kBulk };

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

// The first element of tile `g`: tiles run over the features of a token block first, then down the
// token blocks, and wrap after `window_rows` rows.
__device__ float* tile_origin(float* y, int64_t g, int64_t window_rows) {
  const int64_t token_block = g / (kHidden / kTileFeatures), feature_block = g % (kHidden / kTileFeatures);
  const int64_t row = (token_block * kTileTokens) % window_rows;
  return y + row * kHidden + feature_block * kTileFeatures;
}

// Calls f(token, feature, value) for this thread's accumulators in the wgmma m64nNk16 layout (swapped:
// features are the M rows, tokens the N columns), warp w owning features [32w, 32w + 32).
template <class F>
__device__ void for_each_fragment_value(float seed, F&& f) {
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int r = lane / 4, c = lane % 4;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    const int feature = 32 * warp + 16 * mt + r;
#pragma unroll
    for (int n8 = 0; n8 < kTileTokens / 8; ++n8) {
      const int token = 8 * n8 + 2 * c;
      f(token, feature, seed + float(n8));
      f(token + 1, feature, seed + float(n8) + 0.5f);
      f(token, feature + 8, seed - float(n8));
      f(token + 1, feature + 8, seed - float(n8) - 0.5f);
    }
  }
}

__device__ void store_fragments(float* tile, float seed) {
  for_each_fragment_value(seed, [&](int token, int feature, float v) { tile[int64_t(token) * kHidden + feature] = v; });
}

// One 16-byte store (written out: nvcc split the float4 stores below into four 4-byte ones).
__device__ void store_v4(float* p, float a, float b, float c, float d) {
  asm volatile("st.global.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(p), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}

// The layout a 4x4 exchange among the lanes that share lane % 4 and lane / 16 would give: lane holds
// features 4q + 8(j / 2) .. +3 of token 2c + j % 2 for each m16 x n8 accumulator block.
__device__ void store_quads(float* tile, float seed) {
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int c = lane % 4, j = (lane / 4) % 4, q = lane / 16;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    const int feature = 32 * warp + 16 * mt + 4 * q + 8 * (j / 2);
#pragma unroll
    for (int n8 = 0; n8 < kTileTokens / 8; ++n8) {
      const int token = 8 * n8 + 2 * c + j % 2;
      store_v4(tile + int64_t(token) * kHidden + feature, seed + float(n8), seed - float(n8), seed, float(mt));
    }
  }
}

// Lane l holds features 4(l % 8) .. +3 of the warp's 32 for token 4i + l / 8, i = 0..31.
__device__ void store_lines(float* tile, float seed) {
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int feature = 32 * warp + 4 * (lane % 8);
#pragma unroll
  for (int i = 0; i < kTileTokens / 4; ++i) {
    const int token = 4 * i + lane / 8;
    store_v4(tile + int64_t(token) * kHidden + feature, seed + float(i), seed - float(i), seed, float(lane));
  }
}

__device__ void store_rows(float* tile, float seed) {
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  constexpr int kTokensPerWarp = kTileTokens / (kThreads / 32);
#pragma unroll
  for (int t = 0; t < kTokensPerWarp; ++t) {
    float* row = tile + int64_t(kTokensPerWarp * warp + t) * kHidden;
    store_v4(row + 4 * lane, seed, seed + 1, seed + 2, float(t));
    store_v4(row + 4 * (lane + 32), seed, seed - 1, seed - 2, float(t));
  }
}

__device__ uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }

__device__ void bulk_store(void* dst, const void* src, uint32_t bytes) {
  asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n" ::"l"(dst), "r"(smem_addr(src)),
               "r"(bytes)
               : "memory");
}
__device__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
__device__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
__device__ void bulk_wait_all() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }
__device__ void fence_proxy_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ void store_through_shared(float* tile, float seed, float* staged) {
  if (threadIdx.x < kTileTokens) bulk_wait_read();  // the last tile's copies have read the staging
  __syncthreads();
  for_each_fragment_value(seed, [&](int token, int feature, float v) { staged[token * kStagedRowFloats + feature] = v; });
  fence_proxy_async_shared();  // generic writes -> the bulk copies' reads
  __syncthreads();
  if (threadIdx.x < kTileTokens) {
    bulk_store(tile + int64_t(threadIdx.x) * kHidden, staged + threadIdx.x * kStagedRowFloats, kTileFeatures * 4);
    bulk_commit();
  }
}

template <Pattern kPattern>
__global__ void __launch_bounds__(kThreads, 1) write_tiles(float* y, int tiles_per_cta, int64_t window_rows) {
  extern __shared__ float staged[];
  for (int t = 0; t < tiles_per_cta; ++t) {
    const int64_t g = int64_t(t) * gridDim.x + blockIdx.x;
    float* tile = tile_origin(y, g, window_rows);
    const float seed = float(g % 97);
    if constexpr (kPattern == Pattern::kFragment) store_fragments(tile, seed);
    if constexpr (kPattern == Pattern::kQuads) store_quads(tile, seed);
    if constexpr (kPattern == Pattern::kLines) store_lines(tile, seed);
    if constexpr (kPattern == Pattern::kRows) store_rows(tile, seed);
    if constexpr (kPattern == Pattern::kBulk) store_through_shared(tile, seed, staged);
  }
  if (kPattern == Pattern::kBulk && threadIdx.x < kTileTokens) bulk_wait_all();
}

template <Pattern kPattern>
float time_pattern(float* y, int ctas, int tiles_per_cta, int64_t window_rows) {
  // Every pattern asks for the staging's shared memory, so that each SM holds one CTA.
  auto kernel = write_tiles<kPattern>;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kStagedBytes), "smem attribute");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "event");
  check(cudaEventCreate(&stop), "event");
  float best = 1e30f;
  for (int rep = 0; rep < 6; ++rep) {
    check(cudaEventRecord(start), "record");
    kernel<<<ctas, kThreads, kStagedBytes>>>(y, tiles_per_cta, window_rows);
    check(cudaEventRecord(stop), "record");
    check(cudaEventSynchronize(stop), "sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    if (rep > 0) best = std::min(best, ms);  // the first run warms up
  }
  check(cudaGetLastError(), "launch");
  return best * 1000.0f;
}

}  // namespace

int main() {
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "device");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "SM count");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "properties");
  constexpr int64_t kRows = int64_t(1) << 17;  // 131072 token rows x 8 KB = 1 GiB, qwen3's y at 16384 tokens
  constexpr int64_t kTiles = kRows / kTileTokens * (kHidden / kTileFeatures);
  float* y = nullptr;
  check(cudaMalloc(&y, size_t(kRows) * kHidden * 4), "cudaMalloc");
  std::printf("%s, %d SMs; tiles of %d tokens x %d features (%d KB), 1 GiB in all per run\n", prop.name, sms,
              kTileTokens, kTileFeatures, kTileTokens * kTileFeatures * 4 / 1024);
  std::printf("%-9s %-6s %5s %10s %9s %14s\n", "pattern", "target", "SMs", "us", "TB/s", "us/tile/CTA");
  const char* names[] = {"fragment", "quads", "lines", "rows", "bulk"};
  for (int p = 0; p < 5; ++p) {
    for (int64_t window : {kRows, int64_t(16 << 20) / (kHidden * 4)}) {
      for (int ctas : {sms, sms / 4}) {
        const int tiles_per_cta = int(kTiles / ctas);
        const float us = p == 0   ? time_pattern<Pattern::kFragment>(y, ctas, tiles_per_cta, window)
                         : p == 1 ? time_pattern<Pattern::kQuads>(y, ctas, tiles_per_cta, window)
                         : p == 2 ? time_pattern<Pattern::kLines>(y, ctas, tiles_per_cta, window)
                         : p == 3 ? time_pattern<Pattern::kRows>(y, ctas, tiles_per_cta, window)
                                  : time_pattern<Pattern::kBulk>(y, ctas, tiles_per_cta, window);
        const double bytes = double(tiles_per_cta) * ctas * kTileTokens * kTileFeatures * 4;
        std::printf("%-9s %-6s %5d %10.1f %9.2f %14.3f\n", names[p], window == kRows ? "DRAM" : "L2", ctas, us,
                    bytes / (us * 1e-6) / 1e12, us / tiles_per_cta);
      }
    }
  }
  check(cudaFree(y), "cudaFree");
  return 0;
}
