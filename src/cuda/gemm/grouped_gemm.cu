// The grouped GEMM kernels: one CTA per (row block of the weights, tile of one expert's token rows
// from the routing plan), with mma.sync (sm_80+, every warp copies and multiplies) or wgmma
// (sm_90a, warp-specialized); and GEMM 2's persistent wgmma kernel, whose CTAs, resident on every
// SM, walk those pairs. Instantiated for the tile shapes in kMmaTiles (compiled_tiles.h)
// only; the dispatch table may pick only those.
#include <algorithm>
#include <string>
#include <type_traits>

#include "cuda/common/check.h"
#include "cuda/gemm/compiled_tiles.h"
#include "cuda/gemm/epilogues.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/staged_y.cuh"
#include "cuda/gemm/tensor_maps.h"
#include "cuda/gemm/wgmma_pipeline.cuh"
#include "cuda/routing/own_tile.cuh"

namespace fp4moe::cuda {
namespace {

// Every thread of a GEMM kernel ends here, on every path (grouped_gemm.h's GemmOrder): its end
// implies its predecessor's.
__device__ __forceinline__ void end_tile(GemmOrder order) {
  if (order != GemmOrder::kAfter) ptx::grid_dependency_wait();
}

// Every GEMM kernel starts here: orders itself against its predecessor (programmatic dependent
// launch, GemmOrder). kRowsAfterWait waits later, before its token rows (the mma.sync kernel).
__device__ __forceinline__ void begin_in_order(GemmOrder order) {
  if (order == GemmOrder::kBeside) ptx::launch_dependent_grids();
  else if (order == GemmOrder::kAfter) ptx::wait_for_predecessor();
}

// The one-tile kernels' start: begin_in_order, then this CTA's tile; false past the plan's tiles
// (the grid covers the worst-case tile count), after end_tile.
__device__ __forceinline__ bool begin_tile(const RoutingPlan& plan, GemmOrder order, GemmTile& tile) {
  begin_in_order(order);
  if (int(blockIdx.y) >= *plan.num_tiles) {
    end_tile(order);
    return false;
  }
  tile = plan.tiles[blockIdx.y];
  return true;
}

template <class Epilogue>
constexpr bool kSignalsTiles = std::is_base_of_v<GateUpEpilogue, Epilogue>;  // GEMM 1; GEMM 2 waits for them

// Whether a tile has a kernel with this epilogue: GateUpQuantizingEpilogue's are the mma.sync tiles'
// that can quantize h (the wgmma ones quantize in their GateUpEpilogue kernels).
template <class Tile, class Epilogue>
constexpr bool kHasKernel = !std::is_same_v<Epilogue, GateUpQuantizingEpilogue> ||
                            (!Tile::kWgmma && epilogue_quantizes_h(tile_config<Tile>()));

// Which GEMM 1 tiles can signal: not the K-split decode tiles, which sit at 64 registers a thread
// (the wave rules of moe/dispatch.h count two or four CTAs per SM); the signal's code took ptxas to
// 76 there. Their batches (one or two tokens) have about one wave of GEMM 1 and little to overlap.
template <class Tile>
constexpr bool kCanSignalTiles = Tile::kSplitK == 1;

// GEMM 1 with a hand-off, every thread, after its epilogue's stores: this CTA's row block of the
// tile is done (the barrier orders every thread's stores before thread 0's release).
template <class Tile, class Epilogue>
__device__ __forceinline__ void signal_tile_done(const TileHandoff& handoff) {
  if constexpr (kSignalsTiles<Epilogue> && kCanSignalTiles<Tile>) {
    if (handoff.done == nullptr) return;
    __syncthreads();
    if (threadIdx.x == 0) ptx::red_add_release_gpu(handoff.done + blockIdx.y, 1);
  }
}

// GEMM 2 with a hand-off, one thread: returns once every GEMM 1 row block of this tile is done,
// with their stores visible to this thread's later loads and tensor copies. A count that never
// comes would be a bug; after 2^27 polls (each an L2 round trip: a minute or more) the kernel
// traps, so it fails instead of hanging.
__device__ __forceinline__ void wait_tile_done(const TileHandoff& handoff, int tile_index = int(blockIdx.y)) {
  const uint32_t* done = handoff.done + tile_index;
  for (uint32_t spins = 0; ptx::ld_acquire_gpu(done) < uint32_t(handoff.gemm1_row_blocks); ++spins) {
    if (spins == (1u << 27)) __trap();
    __nanosleep(64);
  }
  ptx::fence_proxy_async_global();
}

// The kernels that can find their own tiles (grouped_gemm.h's OwnTiles): GEMM 1's of the tiles with
// has_own_tile_kernel, which also signal their tiles done.
template <class Tile, class Epilogue>
constexpr bool kCanFindOwnTiles = kSignalsTiles<Epilogue> && has_own_tile_kernel(tile_config<Tile>());

template <class Tile>
using OwnTileOf = OwnTile<Tile::kThreads, Tile::kBlockTokens>;

// A kernel finding its own tiles keeps them past the mainloop's shared memory.
template <class Tile>
constexpr int kOwnTileOffset = int(round_up(Tile::kSmemBytes, 16));
template <class Tile>
constexpr int kOwnTileSmemBytes = kOwnTileOffset<Tile> + int(sizeof(typename OwnTileOf<Tile>::Storage));

template <class Tile, class Epilogue, bool kOwnTiles = false>
__global__ void __launch_bounds__(Tile::kThreads, std::is_same_v<Epilogue, GateUpQuantizingEpilogue>
                                                      ? kQuantizingMinCtasPerSm<Tile>
                                                      : kMmaMinCtasPerSm<Tile>)
    grouped_gemm_nvfp4_mma_kernel(PackedExpertWeights w, GemmInput in, RoutingPlan plan, typename Epilogue::Params out,
                                  GemmOrder order, TileHandoff handoff, OwnTiles own) {
  extern __shared__ __align__(1024) char smem[];
  GemmTile tile;
  GemmInput rows = in;
  GemmTile gathered;  // the tile as the mainloop gathers its rows
  bool found_own = false;
  if constexpr (kOwnTiles) {
    static_assert(kCanFindOwnTiles<Tile, Epilogue>, "GEMM 1 of a tile with has_own_tile_kernel");
    if (int64_t(blockIdx.y) * gridDim.x + blockIdx.x < own.first_ctas) {
      auto& found = *reinterpret_cast<typename OwnTileOf<Tile>::Storage*>(smem + kOwnTileOffset<Tile>);
      if (!OwnTileOf<Tile>::find(own.topk_ids, own.num_pairs, own.local_start, own.num_local, int(blockIdx.y),
                                 found)) {
        // GEMM 2 launches once every CTA here has let it or ended: where the routing has no tile at
        // all, the first row of CTAs still holds it until the plan has ended.
        if (blockIdx.y == 0) ptx::wait_for_predecessor();
        return;
      }
      tile = found.tile;
      rows.gather = found.pairs;  // the tile's rows from its first
      gathered = GemmTile{tile.expert, 0, tile.rows};
      found_own = true;
    }
  }
  if (!found_own) {
    if (!begin_tile(plan, order, tile)) return;
    gathered = tile;
  }
  MmaAccumulators<Tile> acc;
  zero_accumulators<Tile>(acc);
  if (!kSignalsTiles<Epilogue> && handoff.done != nullptr) {  // before the mainloop: nothing live across it
    if (threadIdx.x == 0) wait_tile_done(handoff);
    __syncthreads();
  }
  // A CTA with its own tile waits for the kernel before as late as its rows allow (OwnTiles): before
  // them where x's quantization writes them (W4A4: the input is quantized), else after its first K
  // steps. Either wait also covers the plan, which GEMM 2 reads and which zeroes the counters.
  const bool wait_before_rows = (found_own && out.quantized_input) || order == GemmOrder::kRowsAfterWait;
  const bool wait_after_steps = found_own && !out.quantized_input;
  MmaMainloop<Tile>(w, rows, gathered, int(blockIdx.x), smem).run(acc, [&] {
    if (wait_before_rows) ptx::wait_for_predecessor();
  }, [&] {
    if (wait_after_steps) ptx::wait_for_predecessor();
  });
  if (MmaMainloop<Tile>::holds_sums()) Epilogue::template apply<Tile>(out, tile, int(blockIdx.x), acc);
  signal_tile_done<Tile, Epilogue>(handoff);
  end_tile(order);
}

// Tile::kCtasPerSm CTAs per SM (one for the large tiles, whose consumer warps need 128
// accumulators each): the register split of gemm/wgmma_pipeline.cuh assumes that many.
// The operands' tensor maps (gemm/tensor_maps.h) are a __grid_constant__ parameter: the TMA reads
// them where they are.
template <class Tile, class Epilogue>
__global__ void __launch_bounds__(Tile::kThreads, Tile::kCtasPerSm)
    grouped_gemm_nvfp4_wgmma_kernel(PackedExpertWeights w, const __grid_constant__ WgmmaTensorMaps maps, GemmInput in,
                                    RoutingPlan plan, typename Epilogue::Params out, GemmOrder order,
                                    TileHandoff handoff) {
  if (wgmma::unavailable()) return;
  GemmTile tile;
  if (!begin_tile(plan, order, tile)) return;
  extern __shared__ __align__(1024) char smem[];
  WgmmaPipeline<Tile> pipeline(w, maps, in, tile, int(blockIdx.x), smem);
  typename Epilogue::Params slice_out = out;
  if constexpr (std::is_same_v<Epilogue, DownEpilogue>) {
    if (gridDim.z > 1) {  // GEMM 2 in K slices (DownOutput::k_slices): the later ones write y_slices
      pipeline.take_k_slice(int(blockIdx.z), int(gridDim.z));
      if (blockIdx.z > 0) {
        slice_out.y = out.y_slices + int64_t(blockIdx.z - 1) * out.slice_stride;
        slice_out.bias = nullptr;
      }
    }
  }
  if (pipeline.is_producer()) {
    pipeline.produce(!kSignalsTiles<Epilogue> && handoff.done != nullptr, [&] { wait_tile_done(handoff); });
  } else {
    MmaAccumulators<Tile> acc;  // written first by the first wgmma
    pipeline.consume(acc);
    Epilogue::template apply<Tile>(slice_out, tile, int(blockIdx.x), acc, smem);
  }
  signal_tile_done<Tile, Epilogue>(handoff);
  end_tile(order);
}

// The persistent GEMM 2 kernel's forms of a table tile with has_persistent_down (grouped_gemm.h):
// the tile as it is, storing y directly; or, for kPersistentDownTile only, the staged form: three
// stages instead of eight, so that two staging areas for y (staged_y.cuh) fit beside the ring. A
// tile of two CTAs per SM has no staged form: its staging areas would not fit twice per SM beside
// its ring, and the SM's other CTA multiplies while one stores. The 64-token tile's (its ring and
// staging would fit) was not tried.
template <class Tile, bool kStageY>
using PersistentDownForm =
    std::conditional_t<kStageY, MmaTile<Tile::kWarps, Tile::kMTiles, Tile::kBlockTokens, 3, 0, true>, Tile>;
// Its shared memory: the ring (with its barriers and row table), the item queue (40 of 128 bytes
// used), the staging areas and their barriers if any.
template <class Tile>
constexpr int kPersistentQueueOffset = (Tile::kSmemBytes + 127) / 128 * 128;
template <class Tile>
constexpr int kPersistentStagingOffset = kPersistentQueueOffset<Tile> + 128;
template <class Tile, bool kStageY>
constexpr int kPersistentSmemBytes =
    kPersistentStagingOffset<Tile> + (kStageY ? StagedY<Tile>::kBytes : 0);
template <class Tile, bool kStageY>
constexpr bool kPersistentFits = Tile::kCtasPerSm * (kPersistentSmemBytes<Tile, kStageY> + 1024) <= 228 * 1024;

// The persistent GEMM 2's items, (token tile, row block) pairs numbered row blocks fastest (as the
// 2-D grid orders them), taken as CTAs come free: a CTA's first is blockIdx.x, each later one the
// grid size plus the next count of plan.next_item (which the plan zeroes). A static share per CTA
// left a tail: CTAs that start late, beside GEMM 1's last ones, still owned as many items.
// The producer's copying warp takes them, ahead of the consumers by up to the ring, and hands each
// on through a two-slot queue in shared memory: a slot's `full` barrier completes with the
// producer's write, its `empty` one once every consumer thread has read it. An item past the last
// ends the walk on both sides.
class ItemQueue {
 public:
  __device__ explicit ItemQueue(char* smem) : smem_(smem) {}

  // Thread 0, before the CTA's first __syncthreads().
  __device__ void set_up(int consumer_threads) const {
    if (threadIdx.x != 0) return;
    for (int slot = 0; slot < 2; ++slot) {
      mbarrier::init(full(slot), 1);
      mbarrier::init(empty(slot), consumer_threads);
    }
  }

  // The producer's copying warp, every lane: takes the CTA's n-th item and hands it on.
  __device__ int take(int n, uint32_t* next_item) const {
    const int lane = int(threadIdx.x) % 32, slot = n % 2;
    uint32_t later = 0;
    if (n > 0 && lane == 0) later = atomicAdd(next_item, 1u);
    const int item = n == 0 ? int(blockIdx.x) : int(gridDim.x + __shfl_sync(0xFFFFFFFFu, later, 0));
    if (lane == 0) {
      if (n >= 2) mbarrier::wait(empty(slot), ((n / 2) - 1) & 1);  // the consumers read item n - 2
      items()[slot] = item;
      mbarrier::arrive(full(slot));
    }
    __syncwarp();
    return item;
  }

  // A consumer thread: the CTA's n-th item.
  __device__ int receive(int n) const {
    const int slot = n % 2;
    mbarrier::wait(full(slot), (n / 2) & 1);
    const int item = items()[slot];
    mbarrier::arrive(empty(slot));
    return item;
  }

 private:
  __device__ uint64_t* full(int slot) const { return reinterpret_cast<uint64_t*>(smem_) + slot; }
  __device__ uint64_t* empty(int slot) const { return reinterpret_cast<uint64_t*>(smem_) + 2 + slot; }
  __device__ int* items() const { return reinterpret_cast<int*>(smem_ + 32); }

  char* smem_;
};

// GEMM 2, persistent: Tile::kCtasPerSm CTAs per SM walk the items (ItemQueue), each through one
// ring (WgmmaPipeline's first_turn), so that a CTA's next weights stream while it finishes an item
// and no CTA pays a launch, a ring set-up and a first fill per item. The staged form (kStageY)
// hands each item's y to the producer warps that copy nothing, which store it while the consumers
// multiply the next (staged_y.cuh): a CTA storing directly holds its SM's tensor cores idle for at
// least 2.2 us per 128-token tile (bench/micro/store_paths.cu); qwen3's GEMM 2 (K = 768) spent
// about a quarter of its time so.
template <class Tile, bool kStageY>
__global__ void __launch_bounds__(Tile::kThreads, Tile::kCtasPerSm)
    persistent_down_wgmma_kernel(PackedExpertWeights w, const __grid_constant__ WgmmaTensorMaps maps, GemmInput in,
                                 RoutingPlan plan, DownOutput out, GemmOrder order, TileHandoff handoff) {
  if (wgmma::unavailable()) return;
  begin_in_order(order);
  extern __shared__ __align__(1024) char smem[];
  using Pipeline = WgmmaPipeline<Tile>;
  const ItemQueue queue(smem + kPersistentQueueOffset<Tile>);
  const StagedY<Tile> staged(smem + kPersistentStagingOffset<Tile>);  // kStageY only
  const int row_blocks = int(ceil_div(w.shape.rows, int64_t(Tile::kBlockRows)));
  const int items = *plan.num_tiles * row_blocks;
  queue.set_up(Pipeline::kConsumerThreads);
  if constexpr (kStageY) staged.set_up();
  Pipeline::set_up_ring(smem, in);  // synchronizes the CTA: the queue's and staging's barriers too
  // Calls f(pipeline, tile, tile index, row block) for each item next_item(n) gives, n = 0, 1, ...
  auto for_each_item = [&](auto&& next_item, auto&& f) {
    int turn = 0;
    for (int n = 0;; ++n) {
      const int item = next_item(n);
      if (item >= items) return;
      const int tile_index = item / row_blocks, row_block = item % row_blocks;
      const GemmTile tile = plan.tiles[tile_index];
      Pipeline pipeline(w, maps, in, tile, row_block, smem, turn);
      f(pipeline, tile, tile_index, row_block);
      turn += pipeline.k_tiles();
    }
  };
  if (Pipeline::is_producer()) {
    Pipeline::start_producing();
    if (Pipeline::is_copying_warp()) {  // the other producer warps have nothing to copy (GEMM 2)
      for_each_item([&](int n) { return queue.take(n, plan.next_item); },
                    [&](Pipeline& pipeline, const GemmTile&, int tile_index, int) {
                      pipeline.produce_sorted_tile(handoff.done != nullptr,
                                                   [&] { wait_tile_done(handoff, tile_index); });
                    });
    } else if constexpr (kStageY) {
      staged.drain(out, Pipeline::producer_warp() - 1);  // the producer warps after the copying one
    }
  } else {
    Pipeline::start_consuming();
    int staged_items = 0;
    for_each_item([&](int n) { return queue.receive(n); },
                  [&](Pipeline& pipeline, const GemmTile& tile, int, int row_block) {
                    MmaAccumulators<Tile> acc;  // written first by the first wgmma
                    pipeline.consume_tile(acc);
                    if constexpr (kStageY) staged.stage(out, tile, row_block, acc, staged_items++);
                    else DownEpilogue::apply<Tile>(out, tile, row_block, acc);
                  });
    if constexpr (kStageY) staged.finish(staged_items);
  }
  end_tile(order);
}

// Calls f(form, stage_y) with config's compiled tile in the persistent form that stage_y picks
// (PersistentDownForm; stage_y a std::bool_constant); false where config has no such form.
template <class F>
bool with_persistent_down_form(const MmaTileConfig& config, bool stage_y, F&& f) {
  bool found = false;
  visit_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    if constexpr (has_persistent_down(tile_config<Tile>())) {
      const auto call = [&](auto staged) {
        using Form = PersistentDownForm<Tile, decltype(staged)::value>;
        static_assert(kPersistentFits<Form, decltype(staged)::value>, "the persistent form's CTAs fit an SM");
        f(Form{}, staged);
        found = true;
      };
      if constexpr (tile_config<Tile>() == kPersistentDownTile) {
        if (stage_y) call(std::true_type{});
        else call(std::false_type{});
      } else if (!stage_y) {
        call(std::false_type{});
      }
    }
  });
  return found;
}

// The tensor maps of a wgmma tile's operands: its weight row block and half its token rows per box.
template <class Tile>
WgmmaTensorMaps tile_tensor_maps(const PackedExpertWeights& w, const GemmInput& in) {
  return make_wgmma_tensor_maps(w, Tile::kBlockRows / kTileRows, in, Tile::kBlockTokens / 2);
}

template <class Tile, class Epilogue, bool kOwnTiles = false>
constexpr auto grouped_gemm_kernel() {
  if constexpr (Tile::kWgmma) return grouped_gemm_nvfp4_wgmma_kernel<Tile, Epilogue>;
  else return grouped_gemm_nvfp4_mma_kernel<Tile, Epilogue, kOwnTiles>;
}

// Calls f(tile), a value of the compiled tile type that `config` describes; an error names the
// config when no compiled shape matches.
template <class F>
void with_compiled_tile(const MmaTileConfig& config, F&& f) {
  require(visit_compiled_tile(config, f), "grouped GEMM", "tile config", "one of the compiled shapes in kMmaTiles",
          config.block_tokens);
}

// What every grouped GEMM launch checks; false where there is no tile to launch.
template <class Epilogue>
bool check_grouped_gemm(const MmaTileConfig& config, int64_t max_tiles, GemmOrder order, const TileHandoff& handoff) {
  require(kSignalsTiles<Epilogue> || handoff.done == nullptr || order == GemmOrder::kBeside, "grouped GEMM",
          "order", "kBeside for a GEMM 2 that waits for GEMM 1 tile by tile", "kAfter");
  require(!kSignalsTiles<Epilogue> || handoff.done == nullptr || config.split_k == 1, "grouped GEMM", "handoff",
          "none for a GEMM 1 tile that splits K (kCanSignalTiles)", config.split_k);
  require(!config.wgmma || order != GemmOrder::kRowsAfterWait, "grouped GEMM", "order",
          "kAfter or kBeside for a wgmma tile (one producer pipeline copies both operands; the persistent GEMM 2 too)",
          "kRowsAfterWait");
  if (max_tiles == 0) return false;
  require(max_tiles <= 65535, "grouped GEMM", "tiles", "at most 65535 token tiles per launch", max_tiles);
  return true;
}

// GEMM 2 by the persistent kernel: the device's SMs each hold the form's CTAs per SM, or fewer CTAs
// where the batch has fewer items.
void launch_persistent_down(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                            const RoutingPlan& plan, int64_t max_tiles, const DownOutput& out, GemmOrder order,
                            const TileHandoff& handoff, const PersistentDown& persistent, const Launch& launch) {
  if (!check_grouped_gemm<DownEpilogue>(config, max_tiles, order, handoff)) return;
  require(plan.next_item != nullptr, "grouped GEMM", "plan.next_item", "a counter for a persistent GEMM 2", "null");
  const bool found = with_persistent_down_form(config, persistent.stage_y, [&](auto form, auto staged) {
    using Tile = decltype(form);
    constexpr bool kStageY = decltype(staged)::value;
    const int64_t items = ceil_div(w.shape.rows, Tile::kBlockRows) * max_tiles;
    const dim3 grid(unsigned(std::min<int64_t>(items, int64_t(persistent.sms) * Tile::kCtasPerSm)));
    launch_kernel(persistent_down_wgmma_kernel<Tile, kStageY>, grid, Tile::kThreads,
                  kPersistentSmemBytes<Tile, kStageY>, launch, "persistent GEMM 2 kernel", w,
                  tile_tensor_maps<Tile>(w, in), in, plan, out, order, handoff);
  });
  require(found, "grouped GEMM", "config",
          persistent.stage_y ? "kPersistentDownTile for a persistent GEMM 2 staging y"
                             : "a tile with has_persistent_down for a persistent GEMM 2",
          config.block_tokens);
}

// What a launch finding its own tiles checks beyond check_grouped_gemm.
void check_own_tiles(const MmaTileConfig& config, const OwnTiles& own, GemmOrder order) {
  require(has_own_tile_kernel(config), "GEMM 1", "tile config",
          "an mma.sync tile of 8-token blocks without a K split where it finds its own tiles", config.block_tokens);
  require(order == GemmOrder::kAfter, "GEMM 1", "order", "kAfter where it finds its own tiles (no large tiles)",
          "kBeside");
  require(own.num_pairs >= 1 && own.num_pairs <= kOwnTileMaxPairs, "GEMM 1", "own.num_pairs",
          "1.." + std::to_string(kOwnTileMaxPairs), own.num_pairs);
  require(own.num_local >= 1 && own.num_local <= kPlanMaxLocalExperts, "GEMM 1", "own.num_local",
          "1.." + std::to_string(kPlanMaxLocalExperts), own.num_local);
  require(own.first_ctas >= 1, "GEMM 1", "own.first_ctas", "at least 1", own.first_ctas);
}

// The launch of launch_grouped_gemm for one compiled tile.
template <class Tile, class Epilogue>
void launch_tile(const PackedExpertWeights& w, const GemmInput& in, const RoutingPlan& plan, int64_t max_tiles,
                 const typename Epilogue::Params& out, GemmOrder order, const TileHandoff& handoff, const OwnTiles& own,
                 const Launch& launch) {
  dim3 grid(unsigned(ceil_div(w.shape.rows, Tile::kBlockRows)), unsigned(max_tiles));
  if constexpr (std::is_same_v<Epilogue, DownEpilogue>) {
    require(out.k_slices == 1 || Tile::kWgmma, "GEMM 2", "out.k_slices", "1 for an mma.sync tile", out.k_slices);
    grid.z = unsigned(out.k_slices);
  }
  if constexpr (Tile::kWgmma) {
    launch_kernel(grouped_gemm_kernel<Tile, Epilogue>(), grid, Tile::kThreads, Tile::kSmemBytes, launch,
                  "grouped GEMM kernel", w, tile_tensor_maps<Tile>(w, in), in, plan, out, order, handoff);
  } else {
    if constexpr (kCanFindOwnTiles<Tile, Epilogue>) {
      if (own.topk_ids) {
        launch_kernel(grouped_gemm_kernel<Tile, Epilogue, true>(), grid, Tile::kThreads, kOwnTileSmemBytes<Tile>,
                      launch, "grouped GEMM kernel (own tiles)", w, in, plan, out, order, handoff, own);
        return;
      }
    }
    launch_kernel(grouped_gemm_kernel<Tile, Epilogue>(), grid, Tile::kThreads, Tile::kSmemBytes, launch,
                  "grouped GEMM kernel", w, in, plan, out, order, handoff, own);
  }
}

// A grouped GEMM by one CTA per (row block, token tile); own.topk_ids: GEMM 1 finding its own tiles.
template <class Epilogue>
void launch_grouped_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                         const RoutingPlan& plan, int64_t max_tiles, const typename Epilogue::Params& out,
                         GemmOrder order, const TileHandoff& handoff, const OwnTiles& own, const Launch& launch) {
  if (!check_grouped_gemm<Epilogue>(config, max_tiles, order, handoff)) return;
  if (own.topk_ids) check_own_tiles(config, own, order);
  with_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    // launch_gate_up_gemm takes the quantizing epilogue only for the tiles that have its kernel.
    require(kHasKernel<Tile, Epilogue>, "GEMM 1", "tile config",
            "an mma.sync tile whose epilogue can quantize h for the quantizing kernel", Tile::kBlockTokens);
    if constexpr (kHasKernel<Tile, Epilogue>)
      launch_tile<Tile, Epilogue>(w, in, plan, max_tiles, out, order, handoff, own, launch);
  });
}

template <class Tile, class Epilogue, bool kOwnTiles = false>
int resident_ctas(int ctas_cap = 0) {
  const auto kernel = grouped_gemm_kernel<Tile, Epilogue, kOwnTiles>();
  size_t smem = Tile::kSmemBytes;
  if constexpr (kOwnTiles) smem = kOwnTileSmemBytes<Tile>;
  if (ctas_cap > 0) smem = capped_smem_bytes(reinterpret_cast<const void*>(kernel), smem, ctas_cap);
  int ctas = 0;
  check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, kernel, Tile::kThreads, smem),
             "grouped GEMM occupancy");
  return ctas;
}

// Raises a kernel's dynamic shared-memory limit to `bytes` where the device allows that much per
// CTA. Elsewhere (an sm_80 GPU: 163 KB) the kernel is one of the Hopper-only wgmma kernels, which
// the dispatch never picks there, and asking would fail the layer's creation.
void raise_smem_limit_where_allowed(const void* kernel, int bytes, int device_limit) {
  if (bytes <= device_limit) raise_smem_limit(kernel, size_t(bytes), "grouped GEMM shared memory");
}

template <class Epilogue>
void raise_smem_limits(int device_limit) {
  std::apply(
      [&](auto... tiles) {
        ([&](auto tile) {
          using Tile = decltype(tile);
          if constexpr (kHasKernel<Tile, Epilogue>) {
            raise_smem_limit_where_allowed(reinterpret_cast<const void*>(grouped_gemm_kernel<Tile, Epilogue>()),
                                           Tile::kSmemBytes, device_limit);
            if constexpr (kCanFindOwnTiles<Tile, Epilogue>)
              raise_smem_limit_where_allowed(
                  reinterpret_cast<const void*>(grouped_gemm_kernel<Tile, Epilogue, true>()), kOwnTileSmemBytes<Tile>,
                  device_limit);
          }
        }(tiles), ...);
      },
      kMmaTiles{});
}

}  // namespace

int resident_ctas_per_sm(const MmaTileConfig& config, int ctas_cap) {
  int fewest = 0;
  with_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    fewest = std::min(resident_ctas<Tile, GateUpEpilogue>(ctas_cap), resident_ctas<Tile, DownEpilogue>(ctas_cap));
  });
  return fewest;
}

int own_tile_ctas_per_sm(const MmaTileConfig& config) {
  int ctas = 0;
  with_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    if constexpr (kCanFindOwnTiles<Tile, GateUpEpilogue>) ctas = resident_ctas<Tile, GateUpEpilogue, true>();
  });
  return ctas;
}

const std::vector<MmaTileConfig>& compiled_gemm_tiles() {
  static const std::vector<MmaTileConfig> tiles =
      std::apply([](auto... t) { return std::vector<MmaTileConfig>{tile_config<decltype(t)>()...}; }, kMmaTiles{});
  return tiles;
}

void configure_grouped_gemms() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  const int device_limit = device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, device, "shared memory per CTA");
  raise_smem_limits<GateUpEpilogue>(device_limit);
  raise_smem_limits<GateUpQuantizingEpilogue>(device_limit);
  raise_smem_limits<DownEpilogue>(device_limit);
  const auto raise_persistent = [&](auto form, auto staged) {
    using Tile = decltype(form);
    constexpr bool kStageY = decltype(staged)::value;
    raise_smem_limit_where_allowed(reinterpret_cast<const void*>(persistent_down_wgmma_kernel<Tile, kStageY>),
                                   kPersistentSmemBytes<Tile, kStageY>, device_limit);
  };
  std::apply(
      [&](auto... tiles) {
        (with_persistent_down_form(tile_config<decltype(tiles)>(), false, raise_persistent), ...);
        (with_persistent_down_form(tile_config<decltype(tiles)>(), true, raise_persistent), ...);
      },
      kMmaTiles{});
}

void check_gate_up_output(const MmaTileConfig& config, const GateUpOutput& out) {
  require((out.h_bf16 == nullptr) != (out.h_f32 == nullptr), "GEMM 1", "out.h_bf16 / out.h_f32",
          "exactly one of them", out.h_bf16 ? "both" : "neither");
  if (out.h_global_scale > 0.0f) {
    require(out.h_bf16 != nullptr, "GEMM 1", "out.h_bf16", "set where the epilogue quantizes h", "null");
    require(epilogue_quantizes_h(config), "GEMM 1", "out.h_global_scale",
            "0 for a tile whose epilogue cannot quantize h (epilogue_quantizes_h)", out.h_global_scale);
  }
}

void launch_gate_up_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                         const RoutingPlan& plan, int64_t max_tiles, const GateUpOutput& out, GemmOrder order,
                         const TileHandoff& handoff, const OwnTiles& own, const Launch& launch) {
  check_gate_up_output(config, out);
  if (out.h_global_scale > 0.0f && !config.wgmma)
    launch_grouped_gemm<GateUpQuantizingEpilogue>(config, w, in, plan, max_tiles, out, order, handoff, own, launch);
  else
    launch_grouped_gemm<GateUpEpilogue>(config, w, in, plan, max_tiles, out, order, handoff, own, launch);
}

void launch_down_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                      const RoutingPlan& plan, int64_t max_tiles, const DownOutput& out, GemmOrder order,
                      const TileHandoff& handoff, const PersistentDown& persistent, const Launch& launch) {
  require(out.k_slices == 1 || persistent.sms == 0, "GEMM 2", "out.k_slices", "1 for the persistent GEMM 2",
          out.k_slices);
  if (persistent.sms > 0)
    launch_persistent_down(config, w, in, plan, max_tiles, out, order, handoff, persistent, launch);
  else
    launch_grouped_gemm<DownEpilogue>(config, w, in, plan, max_tiles, out, order, handoff, OwnTiles{}, launch);
}

}  // namespace fp4moe::cuda
