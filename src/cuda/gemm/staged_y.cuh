// GEMM 2's staged y, the persistent kernel's staged form (grouped_gemm.cu): each consumer
// warpgroup writes its half of an item's y tile (its kStagedColumns columns of y, times the tile's
// tokens) into its own staging area of shared memory and goes on to the next item; the producer
// warps that copy nothing (all but the copying warp: GEMM 2's copies are tensor copies by one lane)
// store the area to y, 16 bytes per lane, while the consumers multiply. A direct store holds the
// SM's tensor cores idle for 2.2 us per 128 KB tile (bench/micro/store_paths.cu), which the staging
// takes out of the consumers' path. The first staged form handed each token's row of the area to a
// bulk copy, one per consumer thread; these warps' stores made the forward 1.9-3.8% faster at
// qwen3-30b-a3b's 1024-16384 tokens, both modes (bench/results/h200-staged-combine/), and need no
// proxy fences.
//
// Hand-off per area: `full` completes when every thread of the warpgroup has written the area and
// its item, `empty` when every draining thread has read it. The consumers stage item n + 1 only
// after the drain of item n has emptied the area; the drainers take the areas in item order.
#pragma once
#include "cuda/common/mbarrier.cuh"
#include "cuda/gemm/epilogues.cuh"

namespace fp4moe::cuda {

template <class Tile>
class StagedY {
  static constexpr int kStagedColumns = Tile::kBlockRows / 2;  // a consumer warpgroup's rows of the weights
  static constexpr int kRowFloats = kStagedColumns + 4;  // +16 bytes: a warp's writes hit 32 banks
  static constexpr int kAreaBytes = Tile::kBlockTokens * kRowFloats * 4;
  static constexpr int kWarpgroupThreads = 128;
  static constexpr int kDrainWarps = Tile::kProducerWarps - 1;  // the producers but the copying warp

  // What a staging area holds; rows < 0: the consumers have no more items.
  struct Item {
    int row_begin, rows;        // the tile's sorted rows
    int first_column, columns;  // its y columns here: columns <= 0 where the row block ends past hidden
  };

 public:
  static constexpr int kControlBytes = 128;  // the four barriers and two items
  static constexpr int kBytes = kControlBytes + 2 * kAreaBytes;

  __device__ explicit StagedY(char* smem) : smem_(smem) {}

  // Thread 0, before the CTA's first __syncthreads(). (The persistent kernel of every tile names this
  // class and its size; only a staged form calls this, so a shape that cannot stage fails here.)
  __device__ void set_up() const {
    static_assert(Tile::kWgmma && Tile::kWarps == 8 && kStagedColumns == 32 * 4,
                  "two consumer warpgroups, each staging as many columns as a warp stores, four per lane");
    static_assert(kDrainWarps >= 1, "a producer warp besides the copying one");
    if (threadIdx.x != 0) return;
    for (int area = 0; area < 2; ++area) {
      mbarrier::init(full(area), kWarpgroupThreads);
      mbarrier::init(empty(area), kDrainWarps * 32);  // each draining thread after its own reads
    }
  }

  // A consumer thread, for the CTA's n-th item: its accumulators, times the global scale, into its
  // warpgroup's area.
  __device__ void stage(const DownOutput& p, const GemmTile& tile, int row_block, const MmaAccumulators<Tile>& acc,
                        int n) const {
    const int area = int(threadIdx.x) / kWarpgroupThreads;
    wait_until_empty(area, n);
    const DownScaling<Tile> scaling(p, tile.expert, row_block);
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    const int row =
        int(at.first_tile16 * 16 - int64_t(row_block) * Tile::kBlockRows) - area * kStagedColumns + at.row;
    float* mine = rows(area) + at.first_token * kRowFloats + row;
    const int columns = tile.rows - at.first_token;
    for_each_accumulator_pair<Tile>(acc, [&](int mt, int c, float lo, float hi) {
      if (c >= columns) return;  // past the tile's tokens (a short tile leaves those unset)
      mine[c * kRowFloats + 16 * mt] = scaling.lo(mt, lo);
      mine[c * kRowFloats + 16 * mt + 8] = scaling.hi(mt, hi);
    });
    if (threadIdx.x % kWarpgroupThreads == 0) {
      const int first_column = row_block * Tile::kBlockRows + area * kStagedColumns;
      item(area) = Item{tile.row_begin, tile.rows, first_column, min(kStagedColumns, p.hidden - first_column)};
    }
    mbarrier::arrive(full(area));
  }

  // A consumer thread, after its last item (n items): the drainers stop at this one.
  __device__ void finish(int n) const {
    const int area = int(threadIdx.x) / kWarpgroupThreads;
    wait_until_empty(area, n);
    if (threadIdx.x % kWarpgroupThreads == 0) item(area).rows = -1;
    mbarrier::arrive(full(area));
  }

  // Draining warp `warp` (0 .. kDrainWarps - 1), every lane: the items' areas in order until the
  // consumers finish.
  __device__ void drain(const DownOutput& p, int warp) const {
    for (int n = 0;; ++n) {
      for (int area = 0; area < 2; ++area) {
        mbarrier::wait(full(area), n & 1);
        const Item it = item(area);
        if (it.rows < 0) return;  // both warpgroups end after the same item
        store_rows(p, it, rows(area), warp);
        mbarrier::arrive(empty(area));
      }
    }
  }

 private:
  __device__ void wait_until_empty(int area, int n) const {
    if (n > 0) mbarrier::wait(empty(area), (n - 1) & 1);
  }

  // Rows warp, warp + kDrainWarps, ... of the area to y, four columns per lane.
  __device__ static void store_rows(const DownOutput& p, const Item& it, const float* staged, int warp) {
    const int column = (threadIdx.x % 32) * 4;
    if (column >= it.columns) return;
    float* y = p.y + int64_t(it.row_begin) * p.hidden + it.first_column + column;
    for (int r = warp; r < it.rows; r += kDrainWarps)
      *reinterpret_cast<float4*>(y + int64_t(r) * p.hidden) =
          *reinterpret_cast<const float4*>(staged + r * kRowFloats + column);
  }

  __device__ uint64_t* full(int area) const { return reinterpret_cast<uint64_t*>(smem_) + area; }
  __device__ uint64_t* empty(int area) const { return reinterpret_cast<uint64_t*>(smem_) + 2 + area; }
  __device__ Item& item(int area) const { return reinterpret_cast<Item*>(smem_ + 32)[area]; }
  __device__ float* rows(int area) const { return reinterpret_cast<float*>(smem_ + kControlBytes + area * kAreaBytes); }

  char* smem_;
};

}  // namespace fp4moe::cuda
