// Hopper (sm_90a) mainloop of the grouped GEMM, warp-specialized. Producer warps stream the
// 64-K stages into a ring of shared-memory stages: the CTA's packed weight tiles by two TMA tensor
// copies per stage, its token rows with cp.async where GEMM 1 gathers them and by TMA where GEMM 2
// reads them in sorted order. Consumer warpgroups wait for a stage,
// dequantize their weight rows (kMTiles x 16 per warp) into registers, the wgmma A operand, and
// multiply them with the token tile, B, read from shared memory by m64nNk16 wgmmas (N: the tile's
// rows rounded up to a token width, below). The m64 block of a wgmma is the
// warpgroup's four warps' m-tile mt, so warp w owns rows (w * kMTiles + mt) * 16 + [0, 16) as in the
// mma.sync kernels, and the epilogues serve both.
//
// Large CTA tiles matter here: every row block re-reads the token tile from L2, and with 128 rows
// per CTA the L2 was the bottleneck (Nsight Compute: L2 74% busy, tensor pipes far from it).
// 256 rows take 128 accumulators per consumer thread: the producers hand registers over to the
// consumers (setmaxnreg), as 168 per thread is all that 12 warps get at launch (128 for the
// 128-token tile's 16, whose consumers then get 216). A claim blocks
// until the CTA's pool holds the registers, so the split must fit what the CTA got at launch (a
// split that does not fit hangs the kernel; the static_assert below guards it).
//
// Stages change hands through mbarriers only (full: the producer's copies landed; empty: every
// consumer thread is done with it), so the consumer warpgroups drift apart and one dequantizes
// while the tensor cores run the other's wgmmas. Each consumer thread arrives itself, after its own
// reads of the stage: an arrival releases the arriving thread's accesses, and one lane arriving for
// its warp after a __syncwarp, correct as that is, made compute-sanitizer's racecheck report every
// refill of a stage as a race. A consumer waits for its own wgmmas before it
// dequantizes the next stage: writing A registers while a wgmma is in flight makes ptxas serialize
// all wgmmas (warning C7513), which costs more than the overlap inside one warpgroup gains.
#pragma once
#include <algorithm>

#include "cuda/common/mbarrier.cuh"
#include "cuda/common/tma.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/format/dequant.cuh"
#include "cuda/gemm/mma_mainloop.cuh"
#include "cuda/gemm/mma_tile.h"
#include "cuda/gemm/token_tile.cuh"
#include "cuda/gemm/weight_tile.cuh"

namespace fp4moe::cuda {

template <class Tile>
class WgmmaPipeline {
  static_assert(Tile::kWgmma, "a wgmma tile");

 public:
  static constexpr int kConsumerThreads = Tile::kWarps * 32;  // the consumers come first

 private:
  static constexpr int kProducerThreads = Tile::kProducerWarps * 32;
  static constexpr int kChunksPerRow = kTokenRowBytes / 16;
  static constexpr int kRowsPerPass = kProducerThreads / kChunksPerRow;  // token rows one copy of all producers covers
  static constexpr int kProducerBarrier = 1;                              // named barrier of the producer warps
  // The 128-token tile never takes the evict-first policy: it runs where y is far larger than L2
  // (moe/dispatch.h's y_stays_in_l2), and with the policy's branch compiled in, ptxas serialized the
  // wgmmas of its GEMM 1 kernel (C7514).
  using Weights = WeightBlockSource<Tile::kBlockRows, (Tile::kBlockTokens < 128)>;
  static_assert(Tile::kBlockTokens <= kProducerThreads, "at most one row-table entry per producer thread");

 public:
  // A CTA's pipeline for its one tile, constructed by every thread of the CTA: sets up the ring
  // (set_up_ring, which synchronizes the CTA once).
  __device__ WgmmaPipeline(const PackedExpertWeights& w, const WgmmaTensorMaps& maps, const GemmInput& in,
                           const GemmTile& tile, int row_block, char* smem)
      : WgmmaPipeline(w, maps, in, tile, row_block, smem, 0) {
    set_up_ring(smem, in);
  }

  // A persistent CTA's pipeline for one of its tiles, after set_up_ring(): first_turn is the
  // ring's stages that its earlier tiles used. The ring and its barriers carry on from there, with
  // no synchronization, so the producer fills this tile's first stages while the consumers finish
  // the last tile. The producers and consumers call start_producing() / start_consuming() once,
  // before their first tile, and then produce_sorted_tile() / consume_tile() for each. GEMM 2 only:
  // the gathered rows' table of GEMM 1 is written once per CTA.
  __device__ WgmmaPipeline(const PackedExpertWeights& w, const WgmmaTensorMaps& maps, const GemmInput& in,
                           const GemmTile& tile, int row_block, char* smem, int first_turn)
      : in_(in),
        tile_(tile),
        smem_(smem),
        maps_(&maps),
        weights_(w, maps, tile.expert, row_block),
        k_tiles_(weights_.k_tiles()),
        first_turn_(first_turn) {}

  // Every thread of the CTA, once: the stage barriers, then a CTA-wide synchronization; after that
  // producer and consumers never meet at a CTA-wide barrier again.
  __device__ static void set_up_ring(char* smem, const GemmInput& in) {
    if (threadIdx.x == 0) {
      for (int s = 0; s < Tile::kStages; ++s) {
        // The tensor copier's arrival with the stage's bytes; for gathered token rows also one
        // cp.async arrival per producer thread.
        mbarrier::init(full_barrier(smem, s), in.gather == nullptr ? 1 : kProducerThreads + 1);
        mbarrier::init(empty_barrier(smem, s), kConsumerThreads);  // one per consumer thread, after its own reads
      }
    }
    __syncthreads();
  }

  __device__ static bool is_producer() { return int(threadIdx.x) >= kConsumerThreads; }
  // A producer thread's warp among the producer warps (0 .. Tile::kProducerWarps - 1).
  __device__ static int producer_warp() { return int(threadIdx.x) / 32 - Tile::kWarps; }
  // The producers' first warp, whose elected lane issues the tensor copies (a whole warp, so the
  // other producer warps skip those branches without divergence).
  __device__ static bool is_copying_warp() { return producer_warp() == 0; }
  __device__ int k_tiles() const { return k_tiles_; }

  // This CTA multiplies slice `slice` of `slices` contiguous shares of K's steps only (GEMM 2 in K
  // slices, DownOutput::k_slices). Every thread, before produce() / consume().
  __device__ void take_k_slice(int slice, int slices) {
    const int total = k_tiles_;
    k_first_ = total * slice / slices;
    k_tiles_ = total * (slice + 1) / slices - k_first_;
  }

  // What each thread gets at launch with kCtasPerSm CTAs per SM: each of the four schedulers holds
  // a quarter of the 64K-register file for its share of the warps, in multiples of 8 (also what
  // setmaxnreg takes); ptxas caps a kernel's registers by the scheduler with the most warps. The
  // producers keep 40 and the consumers share the rest, up to 232 (a consumer of the 128-token tile
  // holds 128 accumulators and its A fragments, 184 registers in all).
  static constexpr int kWarpsPerScheduler = (Tile::kThreads / 32 * Tile::kCtasPerSm + 3) / 4;
  static constexpr int kLaunchRegisters = kSmRegisters / 4 / (kWarpsPerScheduler * 32) / 8 * 8;
  static constexpr int kProducerRegisters = 40;
  static constexpr int kConsumerRegisters =
      std::min(232, (kLaunchRegisters * Tile::kThreads - kProducerRegisters * kProducerThreads) / kConsumerThreads /
                        8 * 8);
  // Where all m-tiles' accumulators and A fragments (16 registers per m-tile) would crowd the
  // consumers' share, the consumers dequantize and multiply one m-tile at a time (the other
  // warpgroup keeps the tensor cores busy meanwhile); 24 registers for addresses and counters.
  static constexpr bool kOneMTileAtATime =
      Tile::kMTiles * (Tile::kBlockTokens / 2 + 16) + 24 > kConsumerRegisters;
  static constexpr int kMTilesPerGroup = kOneMTileAtATime ? 1 : Tile::kMTiles;  // dequantized, then multiplied
  // consume_k_overlapped: one CTA per SM only. With two, the other CTA's warpgroups already fill the
  // gaps, and the overlapped loop's second wait per stage cost the 32-token two-CTA tile 0.7-3.3% at
  // 512 tokens (bench/results/h200-overlap-mtiles/call1/).
  static constexpr bool kOverlapMTiles = !kOneMTileAtATime && Tile::kMTiles == 2 && Tile::kCtasPerSm == 1;
  static_assert(kProducerRegisters * kProducerThreads + kConsumerRegisters * kConsumerThreads <=
                    kLaunchRegisters * Tile::kThreads,
                "the register split must fit the CTA's launch allocation, or the consumers' claim never returns");

  // Producer warps: fill stage kt % kStages once its previous contents are consumed. One lane of
  // the first producer warp brings the weights with two tensor copies (with cp.async, 16 bytes per
  // copy, the producers issued about a fifth of the CTA's instructions); for GEMM 2 it brings the
  // token rows too (produce_by_tensor_copies), and for GEMM 1 every producer thread copies token
  // chunks. Eight lanes copy one token row, a 16-byte chunk each, so a warp's copy
  // reads four whole 128-byte rows: one row per lane made every copy instruction touch 32 lines
  // (32 L1 wavefronts) and doubled the time per stage. The gathered rows' addresses are resolved
  // once, into a shared table.
  //
  // rows_wait (GEMM 2 only, whose rows come by tensor copies): the token rows may be read only after
  // wait_for_rows() returns, which the copying lane calls once the first kStages stages' weights
  // are on their way.
  template <class WaitForRows>
  __device__ void produce(bool rows_wait, WaitForRows&& wait_for_rows) {
    start_producing();
    produce_tile(rows_wait, wait_for_rows);
  }
  __device__ static void start_producing() { wgmma::release_registers<kProducerRegisters>(); }

  // produce_tile for token rows in sorted order (GEMM 2), all of it tensor copies by one lane of the
  // first producer warp; the persistent kernel calls it so, without the gathered path's code.
  template <class WaitForRows>
  __device__ void produce_sorted_tile(bool rows_wait, WaitForRows&& wait_for_rows) {
    if (is_copying_warp() && ptx::elect_one()) produce_by_tensor_copies(rows_wait, wait_for_rows);
  }

  template <class WaitForRows>
  __device__ void produce_tile(bool rows_wait, WaitForRows&& wait_for_rows) {
    if (tokens_in_order()) {
      produce_sorted_tile(rows_wait, wait_for_rows);
      return;
    }
    const int p = int(threadIdx.x) - kConsumerThreads;
    const bool copies_weights = is_copying_warp();
    if (copies_weights && ptx::elect_one()) weights_.prefetch_maps();
    constexpr bool kEveryProducerHasARow = Tile::kBlockTokens == kProducerThreads;
    if (kEveryProducerHasARow || p < Tile::kBlockTokens) row_table()[p] = tile_token_row(in_, tile_, p);
    ptx::named_barrier_sync(kProducerBarrier, kProducerThreads);
    const int chunk = p % kChunksPerRow, first_row = p / kChunksPerRow;
    // Every token width is a whole number of passes except in the 32- and 48-token tiles (widths of
    // 24 and 40 rows), whose producers check each row.
    constexpr bool kWholePasses = kHalfTokens % kRowsPerPass == 0 && kWidthStep % kRowsPerPass == 0;
    const int rows = token_rows_used(), passes = rows / kRowsPerPass;
    for (int kt = 0; kt < k_tiles_; ++kt) {
      const int stage = kt % Tile::kStages;
      wait_until_free(kt);  // first_turn is 0 here (above)
#pragma unroll
      for (int pass = 0; pass < Tile::kBlockTokens / kRowsPerPass; ++pass) {
        const int row = first_row + pass * kRowsPerPass;
        if (kWholePasses ? pass >= passes : row >= rows) break;
        copy_token_chunk(stage_tokens(stage), row_table()[row], in_, row, chunk, k_first_ + kt);
      }
      if (copies_weights && ptx::elect_one()) {
        mbarrier::arrive_expect_tx(full(stage), Weights::kBytes);
        weights_.copy_stage(stage_codes(stage), stage_scales(stage), k_first_ + kt, full(stage));
      }
      mbarrier::arrive_on_cp_async(full(stage));
    }
    ptx::cp_async_wait<0>();  // leave no copy in flight behind an exiting thread
  }

  // Consumer warps: the accumulators of this warp's kMTiles x 16 rows x the tile's tokens. An
  // expert's last token tile is often short (about a third of the tiles at 4096 tokens), and at
  // decode batches most tiles are: the wgmmas multiply only the tile's token width (below), and
  // leave the other accumulators unset.
  //
  // consume() (a CTA's one tile) overlaps each m-tile's wgmmas with the dequantization of the other's
  // next fragments where kOverlapMTiles (consume_k_overlapped); consume_tile() (a persistent CTA's
  // tiles) does not: with the item loop's state beside both fragment sets, ptxas ran short of
  // registers in the persistent 128-token kernels and serialized every wgmma there (C7512).
  __device__ void consume(MmaAccumulators<Tile>& acc) {
    start_consuming();
    consume_width<kHalfTokens, kOverlapMTiles>(acc, token_rows_used());
  }
  __device__ static void start_consuming() { wgmma::claim_registers<kConsumerRegisters>(); }
  __device__ void consume_tile(MmaAccumulators<Tile>& acc) {
    consume_width<kHalfTokens, false>(acc, token_rows_used());
  }

 private:
  // The token widths the wgmmas take: half the tile, then steps of a quarter tile rounded down to a
  // multiple of 8 (the wgmma's N granule) up to the whole tile. 32 tokens: 16, 24, 32; 48: 24, 32,
  // 40, 48; 64: 32, 48, 64; 128: 64, 96, 128 (each an m64nN wrapper of wgmma.cuh). A tile of r rows
  // takes the narrowest width that holds them: at qwen3's 512 tokens (about 32 rows per expert, the
  // 48-token tile) most tiles take 32 or 40, not 48.
  static constexpr int kHalfTokens = Tile::kBlockTokens / 2;
  static constexpr int kWidthStep = std::max(8, Tile::kBlockTokens / 4 / 8 * 8);
  static_assert(kHalfTokens % 8 == 0 && kHalfTokens % kWidthStep == 0,
                "the widths step from half the tile to all of it");

  // consume_k (kOverlap: consume_k_overlapped) at the width `width`, one of the widths above from
  // kWidth on.
  template <int kWidth, bool kOverlap>
  __device__ void consume_width(MmaAccumulators<Tile>& acc, int width) {
    constexpr int kTokens = std::min(kWidth, Tile::kBlockTokens);
    if (kWidth >= Tile::kBlockTokens || width == kWidth) {
      if constexpr (kOverlap) consume_k_overlapped<kTokens>(acc);
      else consume_k<kTokens>(acc);
    } else if constexpr (kWidth < Tile::kBlockTokens) {
      consume_width<kWidth + kWidthStep, kOverlap>(acc, width);
    }
  }

  // GEMM 2 reads its token rows in sorted order, a contiguous run per tile: a stage's token tile is
  // then one or two tensor copies (half the tile's rows each, so a short tile takes one), and one
  // thread fills every stage with the weights' two.
  __device__ bool tokens_in_order() const { return in_.gather == nullptr; }

  template <class WaitForRows>
  __device__ void produce_by_tensor_copies(bool rows_wait, WaitForRows&& wait_for_rows) {
    weights_.prefetch_maps();
    tma::prefetch_map(&maps_->tokens);
    constexpr int kBoxBytes = kHalfTokens * kTokenRowBytes;
    const int boxes = (token_rows_used() + kHalfTokens - 1) / kHalfTokens;
    const int stage_bytes = Weights::kBytes + boxes * kBoxBytes;
    const int early = rows_wait ? min(int(Tile::kStages), k_tiles_) : 0;  // stages whose weights go first
    for (int kt = 0; kt < early; ++kt) {
      const int turn = first_turn_ + kt, stage = turn % Tile::kStages;
      if (first_turn_ > 0) wait_until_free(turn);  // a persistent CTA's later tiles
      mbarrier::arrive_expect_tx(full(stage), stage_bytes);
      weights_.copy_stage(stage_codes(stage), stage_scales(stage), k_first_ + kt, full(stage));
    }
    if (rows_wait) wait_for_rows();
    for (int kt = 0; kt < k_tiles_; ++kt) {
      const int turn = first_turn_ + kt, stage = turn % Tile::kStages;
      if (kt >= early) {
        wait_until_free(turn);
        mbarrier::arrive_expect_tx(full(stage), stage_bytes);
      }
      for (int b = 0; b < boxes; ++b)
        tma::load_2d(stage_tokens(stage) + b * kBoxBytes, &maps_->tokens, (k_first_ + kt) * kTileK,
                     tile_.row_begin + b * kHalfTokens, full(stage));
      if (kt >= early) weights_.copy_stage(stage_codes(stage), stage_scales(stage), k_first_ + kt, full(stage));
    }
  }

  // Before filling the ring's stage for `turn` (its turn-th use, counted from the CTA's first tile)
  // on the ring's second round or later: wait until the consumers have released what the round
  // before left in it.
  __device__ void wait_until_free(int turn) const {
    if (turn >= Tile::kStages) mbarrier::wait(empty(turn % Tile::kStages), ((turn / Tile::kStages) - 1) & 1);
  }

  // Token rows the wgmmas read, the one place that picks the wgmma width: the producers copy at
  // least these (tensor copies take half tiles), the consumers multiply as many.
  __device__ int token_rows_used() const {
    if (tile_.rows <= kHalfTokens) return kHalfTokens;
    const int steps = (tile_.rows - kHalfTokens + kWidthStep - 1) / kWidthStep;
    return min(Tile::kBlockTokens, kHalfTokens + steps * kWidthStep);
  }

  // A consumer thread's position in the ring and what it reads there: its fragment bytes and the
  // token tile's descriptor in stage 0, which a stage offsets. The descriptor holds address / 16 in
  // its low 14 bits, and shared addresses stay below 2^18, so adding offset / 16 never carries out.
  struct StageCursor {
    const char* codes;
    const char* scales;
    uint64_t tokens_desc;
    int stage;
    uint32_t parity;
    __device__ int offset() const { return stage * Tile::kStageBytes; }
    __device__ uint64_t desc() const { return tokens_desc + uint64_t(offset() >> 4); }
    __device__ void advance() {
      if (++stage == Tile::kStages) {
        stage = 0;
        parity ^= 1;
      }
    }
  };
  __device__ StageCursor stage_cursor() const {
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
    return {stage_codes(0) + warp * Tile::kMTiles * kTileCodeBytes + lane * 16,
            stage_scales(0) + warp * Tile::kMTiles * kTileScaleBytes + (lane / 4) * 8,
            wgmma::k_major_sw128_descriptor(stage_tokens(0)), first_turn_ % Tile::kStages,
            uint32_t(first_turn_ / Tile::kStages) & 1};
  }
  // Waits for the cursor's stage to be full; cp.async token rows (generic proxy), now visible here,
  // are then fenced for wgmma's reads (async proxy). Tensor copies write through the async proxy
  // themselves, so GEMM 2 needs no fence.
  __device__ void wait_full(const StageCursor& at) const {
    mbarrier::wait(full(at.stage), at.parity);
    if (!tokens_in_order()) wgmma::fence_proxy_async_shared();
  }

  // The ring's position moves one stage a step (no division by kStages, which is 7 in the 48-token
  // tile), and what the stage's reads need that is the same in every stage is worked out once
  // (StageCursor): the consumers issue the dequantization at T=512, and each instruction off the
  // loop is theirs.
  template <int kTokens>
  __device__ void consume_k(MmaAccumulators<Tile>& acc) {
    StageCursor at = stage_cursor();
    for (int kt = 0; kt < k_tiles_; ++kt) {
      wait_full(at);
      // All m-tiles' A fragments at once, or (kOneMTileAtATime) each held only until its own
      // wgmmas are done.
#pragma unroll
      for (int first = 0; first < Tile::kMTiles; first += kMTilesPerGroup) {
        uint32_t a[kMTilesPerGroup][4][4];
#pragma unroll
        for (int i = 0; i < kMTilesPerGroup; ++i)
          dequant_m_tile(at.codes + at.offset() + (first + i) * kTileCodeBytes,
                         at.scales + at.offset() + (first + i) * kTileScaleBytes, a[i]);
        multiply_stage<kTokens, kMTilesPerGroup>(acc, first, a, at.desc(), kt);
      }
      mbarrier::arrive(empty(at.stage));
      at.advance();
    }
  }

  // Where both m-tiles' A fragments fit beside the accumulators (not kOneMTileAtATime), each m-tile's
  // wgmmas run while the warp dequantizes the other's next fragments: m-tile 0's of a stage while
  // m-tile 1's fragments are made, m-tile 1's while the next stage's m-tile 0 fragments are. Each
  // m-tile is its own wgmma group, and a wait for all but the newest group frees the fragments that
  // are rewritten next. A stage is released one group later than in consume_k (its last reads of
  // the tokens are m-tile 1's wgmmas). No register is written while a wgmma that uses it is in
  // flight: fragments and accumulators are fenced only once their group is waited for, or ptxas
  // serializes every wgmma (C7513).
  template <int kTokens>
  __device__ void consume_k_overlapped(MmaAccumulators<Tile>& acc) {
    static_assert(kOverlapMTiles);
    StageCursor at = stage_cursor();
    float(&acc0)[kTokens / 2] = accumulators<kTokens>(acc, 0);
    float(&acc1)[kTokens / 2] = accumulators<kTokens>(acc, 1);
    uint32_t a0[4][4], a1[4][4];
    int previous = at.stage;
    for (int kt = 0; kt < k_tiles_; ++kt) {
      wait_full(at);
      const int offset = at.offset();
      dequant_m_tile(at.codes + offset, at.scales + offset, a0);  // the last stage's m-tile 1 may still multiply
      multiply_m_tile<kTokens>(acc0, a0, at.desc(), kt);
      retire_m_tile<1>(a1, acc1);  // the last stage's m-tile 1: its fragments are free, and so is that stage
      if (kt > 0) mbarrier::arrive(empty(previous));
      dequant_m_tile(at.codes + offset + kTileCodeBytes, at.scales + offset + kTileScaleBytes, a1);
      multiply_m_tile<kTokens>(acc1, a1, at.desc(), kt);
      retire_m_tile<1>(a0, acc0);  // this stage's m-tile 0: a0 may be rewritten
      previous = at.stage;
      at.advance();
    }
    retire_m_tile<0>(a1, acc1);
    if (k_tiles_ > 0) mbarrier::arrive(empty(previous));
  }

  // Waits until at most kPending wgmma groups are in flight, then fences the fragments and
  // accumulators of the m-tile whose group that retired: only now may they be read or rewritten.
  template <int kPending, int kAccumulators>
  __device__ static void retire_m_tile(uint32_t (&a)[4][4], float (&acc)[kAccumulators]) {
    wgmma::wait_group<kPending>();
    wgmma::fence_operands(a);
    wgmma::fence_operands(acc);
  }

  // The wgmma of k16 step `step` of K step kt: 16 K = 32 bytes further along the token tile's
  // swizzled rows per step, and the first MMA of an m-tile overwrites its accumulators (no zero-fill).
  template <int kTokens>
  __device__ static void mma_step(float (&d)[kTokens / 2], const uint32_t (&a)[4], uint64_t desc, int step, int kt) {
    wgmma::mma_rs<kTokens>(d, a, desc + uint64_t((step * 32) >> 4), kt > 0 || step > 0);
  }

  // One m-tile's four wgmmas of a stage as one group, not waited for.
  template <int kTokens>
  __device__ static void multiply_m_tile(float (&d)[kTokens / 2], uint32_t (&a)[4][4], uint64_t desc, int kt) {
    wgmma::fence();
#pragma unroll
    for (int step = 0; step < 4; ++step) mma_step<kTokens>(d, a[step], desc, step, kt);
    wgmma::commit_group();
  }

  // The wgmmas of one stage for kCount m-tiles from first_mt on, whose A fragments are in a; waits
  // for them, so a may be rewritten next.
  template <int kTokens, int kCount>
  __device__ static void multiply_stage(MmaAccumulators<Tile>& acc, int first_mt, uint32_t (&a)[kCount][4][4],
                                        uint64_t desc, int kt) {
#pragma unroll
    for (int i = 0; i < kCount; ++i) wgmma::fence_operands(accumulators<kTokens>(acc, first_mt + i));
    wgmma::fence();
#pragma unroll
    for (int step = 0; step < 4; ++step)
#pragma unroll
      for (int i = 0; i < kCount; ++i)
        mma_step<kTokens>(accumulators<kTokens>(acc, first_mt + i), a[i][step], desc, step, kt);
    wgmma::commit_group();
    wgmma::wait_group<0>();
#pragma unroll
    for (int i = 0; i < kCount; ++i) wgmma::fence_operands(accumulators<kTokens>(acc, first_mt + i));
  }

  // The wgmma view of m-tile mt's accumulators for the first kTokens tokens: d[4*j + i] = acc[mt][j][i].
  template <int kTokens>
  __device__ static float (&accumulators(MmaAccumulators<Tile>& acc, int mt))[kTokens / 2] {
    return reinterpret_cast<float(&)[kTokens / 2]>(acc[mt]);
  }
  // An m-tile's A fragments for the stage's four k16 steps, from this thread's bytes of its codes
  // (16) and scales (8, rows g and g + 8).
  __device__ static void dequant_m_tile(const char* codes_at, const char* scales_at, uint32_t (&a)[4][4]) {
    const uint4 codes = *reinterpret_cast<const uint4*>(codes_at);
    const uint2 scales = *reinterpret_cast<const uint2*>(scales_at);
    dequant_a_fragment<0>(codes.x, scales.x, scales.y, a[0]);
    dequant_a_fragment<1>(codes.y, scales.x, scales.y, a[1]);
    dequant_a_fragment<2>(codes.z, scales.x, scales.y, a[2]);
    dequant_a_fragment<3>(codes.w, scales.x, scales.y, a[3]);
  }

  __device__ char* stage_tokens(int stage) const { return smem_ + stage * Tile::kStageBytes; }
  __device__ char* stage_codes(int stage) const { return stage_tokens(stage) + Tile::kActBytes; }
  __device__ char* stage_scales(int stage) const { return stage_codes(stage) + Tile::kCodeBytes; }
  // The empty barriers first, then the full ones: the producers wait on a stage's empty barrier and
  // then arrive on its full one, which ptxas addresses from the empty one's address. In the other
  // order that offset was negative in the 7-stage tiles (ARRIVES.LDGSTSBAR [URx-0x38]), and
  // compute-sanitizer's racecheck then lost the producers' cp.async arrivals and reported every
  // copy into a stage as racing (bench/results/h200-wgmma48-tma/racecheck-layout/); the results
  // were right either way.
  __device__ static uint64_t* empty_barrier(char* smem, int stage) {
    return reinterpret_cast<uint64_t*>(smem + Tile::kStages * Tile::kStageBytes) + stage;
  }
  __device__ static uint64_t* full_barrier(char* smem, int stage) { return empty_barrier(smem, Tile::kStages + stage); }
  __device__ uint64_t* empty(int stage) const { return empty_barrier(smem_, stage); }
  __device__ uint64_t* full(int stage) const { return full_barrier(smem_, stage); }
  __device__ const bf16** row_table() const {
    return reinterpret_cast<const bf16**>(smem_ + Tile::kStages * Tile::kStageBytes + Tile::kBarrierBytes);
  }

  GemmInput in_;
  GemmTile tile_;
  char* smem_;
  const WgmmaTensorMaps* maps_;
  Weights weights_;
  int k_tiles_;
  int k_first_ = 0;  // the first K step of this CTA's slice (take_k_slice)
  int first_turn_;
};

}  // namespace fp4moe::cuda
