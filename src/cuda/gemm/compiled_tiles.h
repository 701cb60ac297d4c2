// The tile shapes compiled into the GEMM kernels, and the walk that turns a runtime MmaTileConfig
// into its compile-time MmaTile. Both the grouped GEMMs (grouped_gemm.cu) and the decode kernels
// (decode_gemm.cu, the mma.sync shapes of 8-token blocks among these) are instantiated from it.
#pragma once
#include <tuple>

#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_tile.h"

namespace fp4moe::cuda {

// Every tile shape the dispatch table may use (moe/dispatch.h). Adding one here compiles it, and
// makes it something a benchmark can force (FP4MOE_GEMM).
using kMmaTiles = std::tuple<MmaTile<4, 1, 8, 8, 4, false, 2>, MmaTile<4, 1, 8, 8, 4, false, 4>,
                             MmaTile<4, 1, 8, 8, 4>, MmaTile<4, 2, 8, 8, 4>, MmaTile<4, 2, 16, 4, 4>,
                             MmaTile<4, 2, 32, 4, 2>, MmaTile<4, 2, 64, 2, 2>, MmaTile<8, 2, 32, 8, 0, true, 1, 2>,
                             MmaTile<8, 2, 64, 8, 0, true>, MmaTile<8, 2, 128, 8, 0, true>,
                             MmaTile<8, 2, 48, 7, 0, true, 1, 2>>;

// The runtime description of a compiled tile shape: what the dispatch table and FP4MOE_GEMM name.
template <class Tile>
constexpr MmaTileConfig tile_config() {
  return {Tile::kWarps,          Tile::kMTiles, Tile::kBlockTokens, Tile::kStages,
          Tile::kRegisterStages, Tile::kWgmma,  Tile::kSplitK, Tile::kCtasPerSm};
}

// Calls f(tile), a value of the compiled tile type that `config` describes; false when none does.
template <class F>
bool visit_compiled_tile(const MmaTileConfig& config, F&& f) {
  bool found = false;
  std::apply(
      [&](auto... tiles) {
        ([&](auto tile) {
          if (found || config != tile_config<decltype(tile)>()) return;
          f(tile);
          found = true;
        }(tiles), ...);
      },
      kMmaTiles{});
  return found;
}

}  // namespace fp4moe::cuda
