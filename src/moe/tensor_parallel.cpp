// A rank's shard of an expert (moe/tensor_parallel.h): gate and up by row ranges in place, down's
// column range copied row by row.
#include "fp4moe/moe/tensor_parallel.h"

#include <cstring>
#include <string>

#include "fp4moe/error.h"
#include "fp4moe/format/nvfp4.h"
#include "moe/backends.h"

namespace fp4moe {
namespace {

// Rows [first, first + rows) of a linear [*, cols] matrix, in place.
Nvfp4WeightView row_range(const Nvfp4WeightView& m, int64_t cols, int64_t first) {
  Nvfp4WeightView v = m;
  v.packed = m.packed + first * (cols / 2);
  v.scales = m.scales + first * (cols / kNvfp4BlockSize);
  v.bias = m.bias ? m.bias + first : nullptr;
  return v;
}

}  // namespace

int shard_intermediate(int intermediate, TensorParallelShard shard, std::string_view where,
                       std::string_view size_argument) {
  require(shard.size >= 1, where, size_argument, "at least 1", shard.size);
  require(shard.rank >= 0 && shard.rank < shard.size, where, "shard.rank",
          "in [0, " + std::to_string(shard.size) + ")", shard.rank);
  const bool splits = intermediate % shard.size == 0 && (intermediate / shard.size) % kNvfp4BlockSize == 0;
  require(splits, where, size_argument,
          "a divisor of intermediate " + std::to_string(intermediate) +
              " leaving each rank a multiple of 16 (the NVFP4 block along down's K)",
          shard.size);
  return intermediate / shard.size;
}

ExpertShard shard_expert(const ExpertWeightsView& full, int hidden, int intermediate, TensorParallelShard shard) {
  constexpr const char* kWhere = "shard_expert";
  require(hidden > 0 && hidden % kNvfp4BlockSize == 0, kWhere, "hidden", "a positive multiple of 16", hidden);
  require(intermediate > 0, kWhere, "intermediate", "a positive size", intermediate);
  const int local = shard_intermediate(intermediate, shard, kWhere);
  const struct {
    const Nvfp4WeightView* view;
    const char* name;
  } projections[] = {{&full.gate, "full.gate"}, {&full.up, "full.up"}, {&full.down, "full.down"}};
  for (const auto& p : projections) {
    validate_weight_view(*p.view, kWhere, p.name);
    require(p.view->scale_layout == ScaleLayout::kLinear, kWhere, std::string(p.name) + ".scale_layout",
            "ScaleLayout::kLinear (unswizzle_scales first)", "ScaleLayout::kSwizzled128x4");
  }

  const int64_t first = int64_t(shard.rank) * local;
  ExpertShard s;
  s.view.gate = row_range(full.gate, hidden, first);
  s.view.up = row_range(full.up, hidden, first);

  // down [H, I]: each of its H rows keeps the columns [first, first + local).
  const int64_t row_bytes = intermediate / 2, local_row_bytes = local / 2;
  const int64_t row_scales = intermediate / kNvfp4BlockSize, local_row_scales = local / kNvfp4BlockSize;
  s.down_packed.resize(size_t(int64_t(hidden) * local_row_bytes));
  s.down_scales.resize(size_t(int64_t(hidden) * local_row_scales));
  for (int64_t r = 0; r < hidden; ++r) {
    std::memcpy(s.down_packed.data() + r * local_row_bytes, full.down.packed + r * row_bytes + first / 2,
                size_t(local_row_bytes));
    std::memcpy(s.down_scales.data() + r * local_row_scales,
                full.down.scales + r * row_scales + first / kNvfp4BlockSize, size_t(local_row_scales));
  }
  s.view.down = full.down;
  s.view.down.packed = s.down_packed.data();
  s.view.down.scales = s.down_scales.data();
  // The ranks' outputs are summed: down's bias is added once, by rank 0.
  if (shard.rank != 0) s.view.down.bias = nullptr;
  return s;
}

}  // namespace fp4moe
