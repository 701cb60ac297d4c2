// The grouped GEMM kernels: one CTA per (row block of the weights, tile of one expert's token rows
// from the routing plan), with mma.sync (sm_80+, every warp copies and multiplies) or wgmma
// (sm_90a, warp-specialized). Instantiated for the tile shapes in kMmaTiles (compiled_tiles.h)
// only; the dispatch table may pick only those.
#include <algorithm>

#include "cuda/common/check.h"
#include "cuda/gemm/compiled_tiles.h"
#include "cuda/gemm/epilogues.cuh"
#include "cuda/gemm/wgmma_pipeline.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/tensor_maps.h"

namespace fp4moe::cuda {
namespace {

// Every thread of a GEMM kernel ends here, on every path (grouped_gemm.h's GemmOrder).
__device__ __forceinline__ void end_tile(GemmOrder order) {
  if (order == GemmOrder::kBeside) ptx::grid_dependency_wait();
}

// Every GEMM kernel starts here: order itself against its predecessor (programmatic dependent
// launch, GemmOrder) and fetch this CTA's tile; false past the plan's tiles (the grid covers the
// worst-case tile count), after end_tile.
__device__ __forceinline__ bool begin_tile(const RoutingPlan& plan, GemmOrder order, GemmTile& tile) {
  if (order == GemmOrder::kBeside) ptx::launch_dependent_grids();
  else ptx::wait_for_predecessor();
  if (int(blockIdx.y) >= *plan.num_tiles) {
    end_tile(order);
    return false;
  }
  tile = plan.tiles[blockIdx.y];
  return true;
}

template <class Tile, class Epilogue>
__global__ void __launch_bounds__(Tile::kThreads)
    grouped_gemm_nvfp4_mma_kernel(PackedExpertWeights w, GemmInput in, RoutingPlan plan, typename Epilogue::Params out,
                                  GemmOrder order) {
  GemmTile tile;
  if (!begin_tile(plan, order, tile)) return;
  extern __shared__ __align__(1024) char smem[];
  MmaAccumulators<Tile> acc;
  zero_accumulators<Tile>(acc);
  MmaMainloop<Tile>(w, in, tile, int(blockIdx.x), smem).run(acc);
  if (MmaMainloop<Tile>::holds_sums()) Epilogue::template apply<Tile>(out, tile, int(blockIdx.x), acc);
  end_tile(order);
}

// Tile::kCtasPerSm CTAs per SM (one for the large tiles, whose consumer warps need 128
// accumulators each): the register split of gemm/wgmma_pipeline.cuh assumes that many.
// The operands' tensor maps (gemm/tensor_maps.h) are a __grid_constant__ parameter: the TMA reads
// them where they are.
template <class Tile, class Epilogue>
__global__ void __launch_bounds__(Tile::kThreads, Tile::kCtasPerSm)
    grouped_gemm_nvfp4_wgmma_kernel(PackedExpertWeights w, const __grid_constant__ WgmmaTensorMaps maps, GemmInput in,
                                    RoutingPlan plan, typename Epilogue::Params out, GemmOrder order) {
  GemmTile tile;
  if (!begin_tile(plan, order, tile)) return;
  extern __shared__ __align__(1024) char smem[];
  WgmmaPipeline<Tile> pipeline(w, maps, in, tile, int(blockIdx.x), smem);
  if (pipeline.is_producer()) {
    pipeline.produce();
  } else {
    MmaAccumulators<Tile> acc;  // written first by the first wgmma
    pipeline.consume(acc);
    Epilogue::template apply<Tile>(out, tile, int(blockIdx.x), acc);
  }
  end_tile(order);
}

template <class Tile, class Epilogue>
constexpr auto grouped_gemm_kernel() {
  if constexpr (Tile::kWgmma) return grouped_gemm_nvfp4_wgmma_kernel<Tile, Epilogue>;
  else return grouped_gemm_nvfp4_mma_kernel<Tile, Epilogue>;
}

// Calls f(tile), a value of the compiled tile type that `config` describes; an error names the
// config when no compiled shape matches.
template <class F>
void with_compiled_tile(const MmaTileConfig& config, F&& f) {
  require(visit_compiled_tile(config, f), "grouped GEMM", "tile config", "one of the compiled shapes in kMmaTiles",
          config.block_tokens);
}

template <class Epilogue>
void launch_grouped_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                         const RoutingPlan& plan, int64_t max_tiles, const typename Epilogue::Params& out,
                         GemmOrder order, const Launch& launch) {
  if (max_tiles == 0) return;
  require(max_tiles <= 65535, "grouped GEMM", "tiles", "at most 65535 token tiles per launch", max_tiles);
  with_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    const dim3 grid(unsigned(ceil_div(w.shape.rows, Tile::kBlockRows)), unsigned(max_tiles));
    if constexpr (Tile::kWgmma)
      launch_kernel(grouped_gemm_kernel<Tile, Epilogue>(), grid, Tile::kThreads, Tile::kSmemBytes, launch,
                    "grouped GEMM kernel", w, make_wgmma_tensor_maps(w, Tile::kBlockRows / kTileRows, in, Tile::kBlockTokens / 2),
                    in, plan, out, order);
    else
      launch_kernel(grouped_gemm_kernel<Tile, Epilogue>(), grid, Tile::kThreads, Tile::kSmemBytes, launch,
                    "grouped GEMM kernel", w, in, plan, out, order);
  });
}

template <class Tile, class Epilogue>
int resident_ctas() {
  int ctas = 0;
  check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&ctas, grouped_gemm_kernel<Tile, Epilogue>(),
                                                           Tile::kThreads, Tile::kSmemBytes),
             "grouped GEMM occupancy");
  return ctas;
}

template <class Epilogue>
void raise_smem_limits() {
  std::apply(
      [](auto... tiles) {
        ([](auto tile) {
          using Tile = decltype(tile);
          check_cuda(cudaFuncSetAttribute(grouped_gemm_kernel<Tile, Epilogue>(),
                                          cudaFuncAttributeMaxDynamicSharedMemorySize, Tile::kSmemBytes),
                     "grouped GEMM shared memory");
        }(tiles), ...);
      },
      kMmaTiles{});
}

}  // namespace

int resident_ctas_per_sm(const MmaTileConfig& config) {
  int fewest = 0;
  with_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    fewest = std::min(resident_ctas<Tile, GateUpEpilogue>(), resident_ctas<Tile, DownEpilogue>());
  });
  return fewest;
}

const std::vector<MmaTileConfig>& compiled_gemm_tiles() {
  static const std::vector<MmaTileConfig> tiles =
      std::apply([](auto... t) { return std::vector<MmaTileConfig>{tile_config<decltype(t)>()...}; }, kMmaTiles{});
  return tiles;
}

void configure_grouped_gemms() {
  raise_smem_limits<GateUpEpilogue>();
  raise_smem_limits<DownEpilogue>();
}

void launch_gate_up_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                         const RoutingPlan& plan, int64_t max_tiles, const GateUpOutput& out, GemmOrder order,
                         const Launch& launch) {
  launch_grouped_gemm<GateUpEpilogue>(config, w, in, plan, max_tiles, out, order, launch);
}

void launch_down_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                      const RoutingPlan& plan, int64_t max_tiles, const DownOutput& out, GemmOrder order,
                      const Launch& launch) {
  launch_grouped_gemm<DownEpilogue>(config, w, in, plan, max_tiles, out, order, launch);
}

}  // namespace fp4moe::cuda
