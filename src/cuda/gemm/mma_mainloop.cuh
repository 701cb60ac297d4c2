// Mainloop of the mma.sync grouped GEMM: a kStages-deep pipeline over K in 64-wide steps. The
// gathered token rows, which every warp of the CTA reads, go through a ring of shared-memory
// stages (cp.async); each warp's weights, which only it reads, go straight into a ring of
// registers kRegisterStages deep (gemm/weight_tile.cuh's WarpWeightStream). Warps dequantize
// their weight fragments in registers (format/dequant.cuh) and multiply them, as the MMA's A
// operand, with the token rows as B (so the output is transposed: rows = weight rows).
//
// The K loop is unrolled by kStages, a multiple of kRegisterStages, so every ring index is a
// compile-time constant: the register ring stays in registers and the stage addresses are
// immediates. The register ring costs 6 registers per m-tile and step of depth, so the deepest
// rings go to the one-m-tile decode tiles (moe/dispatch.h). Where a K slice's real token rows, all
// of its K steps, fit the bytes of its stages (kResidentTokens), they are copied once up front
// instead, and the steps run with no stage waits or barriers between them (run_resident).
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/format/dequant.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_tile.h"
#include "cuda/gemm/token_tile.cuh"
#include "cuda/gemm/weight_tile.cuh"

namespace fp4moe::cuda {

template <class Tile>
using MmaAccumulators = float[Tile::kMTiles][Tile::kNTiles][4];

template <class Tile>
__device__ __forceinline__ void zero_accumulators(MmaAccumulators<Tile>& acc) {
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;
}

template <class Tile>
class MmaMainloop {
  static constexpr int kStages = Tile::kStages;
  static constexpr int kRegisterStages = Tile::kRegisterStages;
  static constexpr int kRowTiles = Tile::kBlockRows / kTileRows;
  static constexpr int kSliceThreads = Tile::kWarps * 32;  // the warps of one K slice
  static constexpr int kTokenChunks = Tile::kBlockTokens * (kTokenRowBytes / 16);
  static constexpr int kTokenChunksPerThread = (kTokenChunks + kSliceThreads - 1) / kSliceThreads;
  static constexpr int kAccumulators = Tile::kMTiles * Tile::kNTiles * 4;
  // run_resident where a slice's real token rows fit its stages, on the K-split decode tiles: their
  // batches (one to a few tokens) leave most of a stage's eight rows empty, so at one token a slice
  // of up to kStages * 8 K steps takes it. H200, whole layer, main against it, alternating rounds
  // (bench/results/h200-resident-rows/): gpt-oss-120b at 1-4 tokens 3-9% faster (W4A16 T=1
  // 29.3 -> 27.4 us), deepseek-v4-flash at 1-2 tokens 2.6-7.5%, deepseek-v3 at one token 5%;
  // qwen3-30b-a3b, whose one-token slices fit the stages before (8 rows a step), within -1.2..+1.2%
  // (T=1 W4A16 14.9 -> 15.0 us). The unsplit 8-token tiles keep run_staged alone: compiled beside
  // it, the resident loop took the two-m-tile one from 96 to 126 registers.
  static constexpr bool kResidentTokens = Tile::kBlockTokens == 8 && Tile::kSplitK > 1;
  static constexpr int kResidentRowSteps = kStages * Tile::kBlockTokens;  // 128-byte row steps the stages hold
  static_assert(kRowPadding % Tile::kBlockRows == 0, "row blocks never run past the packed rows");

 public:
  __device__ MmaMainloop(const PackedExpertWeights& w, const GemmInput& in, const GemmTile& tile, int row_block,
                         char* smem)
      : smem_(smem),
        weights_(w, tile.expert, int64_t(row_block) * kRowTiles + row_warp() * Tile::kMTiles, threadIdx.x % 32),
        k_tiles_(slice_steps(int(w.shape.k_tiles()))),
        k_first_(slice_first_step(int(w.shape.k_tiles()))),
        rows_(tile.rows) {
    if constexpr (Tile::kSplitK > 1) weights_.advance(k_first_);
    if constexpr (kResidentTokens) resident_copy_ = resident_copy(in, tile);
    // The token chunks this thread copies never change along K: resolve the gather once.
#pragma unroll
    for (int i = 0; i < kTokenChunksPerThread; ++i) {
      const int chunk = slice_thread() + i * kSliceThreads, row = chunk / 8;
      token_src_[i] = token_chunk_source(chunk < kTokenChunks ? tile_token_row(in, tile, row) : nullptr, in, chunk % 8);
      token_dst_[i] = token_chunk_offset(row, chunk % 8);
    }
  }

  // The warps that hold the CTA tile's sums after run(), and run the epilogue: slice 0.
  __device__ static bool holds_sums() { return slice() == 0; }

  // before_tokens() runs once the register ring's first loads are issued and before the first
  // token rows are: the weights never depend on an earlier kernel, so a kernel whose token rows do
  // waits for it there (gemm/decode_gemm.cu; W4A4's GEMM 1 with its own tiles, grouped_gemm.cu).
  // after_first_steps() runs once the first kStages K steps are done (all of them where K has fewer;
  // never in a K slice without steps): W4A16's GEMM 1 with its own tiles, whose weights and tokens
  // need no earlier kernel, waits there for the plan kernel, late enough that the plan is off its
  // chain.
  template <class BeforeTokens, class AfterFirstSteps>
  __device__ void run(MmaAccumulators<Tile>& acc, BeforeTokens&& before_tokens, AfterFirstSteps&& after_first_steps) {
    WeightFragments<Tile::kMTiles> weights[kRegisterStages];
#pragma unroll
    for (int s = 0; s < kRegisterStages; ++s)
      if (s < k_tiles_) weights_.load(s, weights[s]);
    before_tokens();
    if (kResidentTokens && rows_ * k_tiles_ <= kResidentRowSteps)  // the same in every thread of the slice
      run_resident(acc, weights, after_first_steps);
    else
      run_staged(acc, weights, after_first_steps);
    if constexpr (Tile::kSplitK > 1) sum_slices(acc);
  }

  template <class BeforeTokens>
  __device__ void run(MmaAccumulators<Tile>& acc, BeforeTokens&& before_tokens) {
    run(acc, before_tokens, [] {});
  }

  __device__ void run(MmaAccumulators<Tile>& acc) {
    run(acc, [] {}, [] {});
  }

 private:
  // The B fragments of k16 steps 2*kPair and 2*kPair+1, one ldmatrix.x4 per token column block: from
  // a stage (staged_b) or from the resident rows (resident_b).
  struct PairB {
    uint32_t b[Tile::kNTiles][4];
  };

  // Each lane's ldmatrix rows in the resident rows, per token column block and k16 pair, at the loop's
  // current K step: rows past the tile's read its last row instead (their columns of the sums are
  // never stored, so only real rows are copied).
  struct ResidentLanes {
    const char* at[2][Tile::kNTiles];
    __device__ void advance(int steps) {
#pragma unroll
      for (int pair = 0; pair < 2; ++pair)
#pragma unroll
        for (int nt = 0; nt < Tile::kNTiles; ++nt) at[pair][nt] += steps * kTokenRowBytes;
    }
  };

  struct ResidentCopy {
    TokenChunkSource src;
    ResidentShare share;
  };

  // The pipeline: the token stages refilled as the steps go, kStages - 1 ahead.
  template <class AfterFirstSteps>
  __device__ void run_staged(MmaAccumulators<Tile>& acc, WeightFragments<Tile::kMTiles> (&weights)[kRegisterStages],
                             AfterFirstSteps&& after_first_steps) {
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < k_tiles_) load_tokens(s, s);
      ptx::cp_async_commit();
    }
    for (int kt0 = 0; kt0 < k_tiles_; kt0 += kStages) {
#pragma unroll
      for (int s = 0; s < kStages; ++s) {  // K step kt0 + s: token stage s, weights[s % kRegisterStages]
        const int kt = kt0 + s;
        if (kt >= k_tiles_) break;
        ptx::cp_async_wait<kStages - 2>();
        slice_sync();  // stage s landed for every thread; the stage before it is free to overwrite
        if (kt + kStages - 1 < k_tiles_) load_tokens((s + kStages - 1) % kStages, kt + kStages - 1);
        ptx::cp_async_commit();
        compute_stage(s, weights[s % kRegisterStages], acc);
        if (kt + kRegisterStages < k_tiles_) weights_.load(s + kRegisterStages, weights[s % kRegisterStages]);
      }
      weights_.advance(kStages);
      if (kt0 == 0) after_first_steps();
    }
  }

  // A slice whose real token rows fit its stages: row r's K steps lie one after another at
  // resident_offset, copied at once, then one wait and one barrier, and steps with no token copies,
  // commits, waits or barriers between them. At one token the K loops are bound by issuing their
  // instructions (bench/results/h200-k-steps/); a step of the four-slice GEMM 1 kernel is about 69
  // SASS instructions a warp here, 88 in run_staged.
  template <class AfterFirstSteps>
  __device__ void run_resident(MmaAccumulators<Tile>& acc, WeightFragments<Tile::kMTiles> (&weights)[kRegisterStages],
                               AfterFirstSteps&& after_first_steps) {
    load_resident_tokens();
    ptx::cp_async_commit();
    ResidentLanes lanes = resident_lanes();
    ptx::cp_async_wait<0>();
    slice_sync();
    for (int kt0 = 0; kt0 < k_tiles_; kt0 += kStages) {
#pragma unroll
      for (int s = 0; s < kStages; ++s) {  // K step kt0 + s: weights[s % kRegisterStages]
        const int kt = kt0 + s;
        if (kt >= k_tiles_) break;
        compute_resident(s, lanes, weights[s % kRegisterStages], acc);
        if (kt + kRegisterStages < k_tiles_) weights_.load(s + kRegisterStages, weights[s % kRegisterStages]);
      }
      weights_.advance(kStages);
      lanes.advance(kStages);
      if (kt0 == 0) after_first_steps();
    }
  }

  // Chunk `chunk` of K step kt of row `row` in this slice's resident rows (gemm/token_layout.h).
  __device__ int resident_offset(int row, int kt, int chunk) const {
    return resident_chunk_offset(row, kt, chunk, k_tiles_);
  }

  // This thread's share of the resident copy: chunk slice_thread() % 8 of its group's share of the
  // rows and steps (gemm/token_layout.h). Resolved in the constructor, before the register ring's
  // loads, as the staged path's sources are, so that the copy needs no gather after them.
  __device__ ResidentCopy resident_copy(const GemmInput& in, const GemmTile& tile) const {
    constexpr int kGroups = kSliceThreads / 8;
    static_assert(kGroups >= Tile::kBlockTokens, "a group of eight threads for every row");
    ResidentCopy c;
    c.share = resident_share(int(slice_thread() / 8), kGroups, max(tile.rows, 1));
    c.src = token_chunk_source(tile_token_row(in, tile, c.share.row), in, int(slice_thread() % 8));
    return c;
  }

  // Not unrolled: the copies are few (two a thread for a one-token slice of 32 steps).
  __device__ void load_resident_tokens() const {
    const ResidentShare& share = resident_copy_.share;
    const int chunk = int(slice_thread() % 8);
#pragma unroll 1
    for (int kt = share.first_step; kt < k_tiles_; kt += share.step_stride)
      copy_token_chunk(stage_tokens(0), resident_offset(share.row, kt, chunk), resident_copy_.src, k_first_ + kt);
  }

  __device__ static int slice() { return Tile::kSplitK == 1 ? 0 : int(threadIdx.x / kSliceThreads); }
  __device__ static unsigned slice_thread() { return Tile::kSplitK == 1 ? threadIdx.x : threadIdx.x % kSliceThreads; }
  __device__ static unsigned row_warp() { return slice_thread() / 32; }

  // This slice's K steps: an even share each, the last slice the rest.
  __device__ static int slice_share(int k_tiles) { return (k_tiles + Tile::kSplitK - 1) / Tile::kSplitK; }
  __device__ static int slice_first_step(int k_tiles) {
    return Tile::kSplitK == 1 ? 0 : slice() * slice_share(k_tiles);
  }
  __device__ static int slice_steps(int k_tiles) {
    if constexpr (Tile::kSplitK == 1) return k_tiles;
    return max(0, min(k_tiles - slice_first_step(k_tiles), slice_share(k_tiles)));
  }

  // A barrier among the threads that share this slice's token stages.
  __device__ static void slice_sync() {
    if constexpr (Tile::kSplitK == 1) __syncthreads();
    else if constexpr (Tile::kWarps == 1) __syncwarp();
    else ptx::named_barrier_sync(1 + slice(), kSliceThreads);
  }

  // Slices 1.. store their accumulators, slice 0 adds them in slice order (the sum does not depend
  // on timing). Lane-fastest order: each store and load of a warp is one conflict-free row.
  __device__ void sum_slices(MmaAccumulators<Tile>& acc) const {
    float* partials = reinterpret_cast<float*>(smem_ + Tile::kSplitK * kStages * Tile::kStageBytes);
    float* flat = &acc[0][0][0];
    const int lane = threadIdx.x % 32;
    auto partial = [&](int s, int i) -> float& {
      return partials[((s - 1) * Tile::kWarps + int(row_warp())) * kAccumulators * 32 + i * 32 + lane];
    };
    if (slice() > 0) {
#pragma unroll
      for (int i = 0; i < kAccumulators; ++i) partial(slice(), i) = flat[i];
    }
    __syncthreads();
    if (slice() > 0) return;
    for (int s = 1; s < Tile::kSplitK; ++s) {
#pragma unroll
      for (int i = 0; i < kAccumulators; ++i) flat[i] += partial(s, i);
    }
  }

  __device__ char* stage_tokens(int stage) const { return smem_ + (slice() * kStages + stage) * Tile::kStageBytes; }

  __device__ void load_tokens(int stage, int kt) const {
#pragma unroll
    for (int i = 0; i < kTokenChunksPerThread; ++i) {
      if (slice_thread() + i * kSliceThreads >= kTokenChunks) break;  // whole warps: the tile's chunks end on a warp
      // One slice: kt itself, spelled out so that those kernels compile exactly as before split K.
      copy_token_chunk(stage_tokens(stage), token_dst_[i], token_src_[i], Tile::kSplitK == 1 ? kt : k_first_ + kt);
    }
  }

  // One 64-K step from token stage `stage`.
  __device__ void compute_stage(int stage, const WeightFragments<Tile::kMTiles>& w, MmaAccumulators<Tile>& acc) const {
    compute_step_pair<0>(staged_b<0>(stage), w, acc);
    compute_step_pair<1>(staged_b<1>(stage), w, acc);
  }

  // Resident K step `step` of the loop's current kStages.
  __device__ void compute_resident(int step, const ResidentLanes& lanes, const WeightFragments<Tile::kMTiles>& w,
                                   MmaAccumulators<Tile>& acc) const {
    compute_step_pair<0>(resident_b<0>(step, lanes), w, acc);
    compute_step_pair<1>(resident_b<1>(step, lanes), w, acc);
  }

  template <int kPair>
  __device__ PairB staged_b(int stage) const {
    const int lane = threadIdx.x % 32;
    PairB r;
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) {
      const int row = nt * 8 + lane % 8;
      ptx::ldmatrix_x4(r.b[nt], stage_tokens(stage) + token_chunk_offset(row, kPair * 4 + lane / 8));
    }
    return r;
  }

  // The second pair's chunks are 4 further than the first's, which the row swizzle makes offset ^ 64.
  __device__ ResidentLanes resident_lanes() const {
    const int lane = threadIdx.x % 32;
    ResidentLanes r;
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) {
      const int offset = resident_offset(min(nt * 8 + lane % 8, rows_ - 1), 0, lane / 8);
      r.at[0][nt] = stage_tokens(0) + offset;
      r.at[1][nt] = stage_tokens(0) + (offset ^ 64);
    }
    return r;
  }

  template <int kPair>
  __device__ static PairB resident_b(int step, const ResidentLanes& lanes) {
    PairB r;
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) ptx::ldmatrix_x4(r.b[nt], lanes.at[kPair][nt] + step * kTokenRowBytes);
    return r;
  }

  // k16 steps 2*kPair and 2*kPair+1: one ldmatrix.x4 per token column block gave both steps' B.
  template <int kPair>
  __device__ static void compute_step_pair(const PairB& b, const WeightFragments<Tile::kMTiles>& w,
                                           MmaAccumulators<Tile>& acc) {
    compute_step<2 * kPair>(w.codes, w.scales, b.b, acc);
    compute_step<2 * kPair + 1>(w.codes, w.scales, b.b, acc);
  }

  // One k16 step: dequantize each m-tile's A fragment, multiply it with every token column.
  template <int kStep>
  __device__ static void compute_step(const uint4 (&codes)[Tile::kMTiles], const uint2 (&scales)[Tile::kMTiles],
                                      const uint32_t (&b)[Tile::kNTiles][4], MmaAccumulators<Tile>& acc) {
    constexpr int kHalf = kStep % 2;  // which ldmatrix half holds this step's B
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      const uint32_t word = kStep == 0   ? codes[mt].x
                            : kStep == 1 ? codes[mt].y
                            : kStep == 2 ? codes[mt].z
                                         : codes[mt].w;
      uint32_t a[4];
      dequant_a_fragment<kStep>(word, scales[mt].x, scales[mt].y, a);  // .x: row g's scales, .y: row g+8's
#pragma unroll
      for (int nt = 0; nt < Tile::kNTiles; ++nt) {
        const uint32_t bk[2] = {b[nt][2 * kHalf], b[nt][2 * kHalf + 1]};
        ptx::mma_bf16_16816(acc[mt][nt], a, bk);
      }
    }
  }

  char* smem_;
  WarpWeightStream<Tile::kMTiles> weights_;
  int k_tiles_;  // K steps of this slice
  int k_first_;  // its first
  int rows_;      // token rows of the tile
  ResidentCopy resident_copy_;
  TokenChunkSource token_src_[kTokenChunksPerThread];
  int token_dst_[kTokenChunksPerThread];  // byte offset of the chunk in a stage
};

}  // namespace fp4moe::cuda
