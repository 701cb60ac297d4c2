// The device routing plan against a host stable grouping: offsets, 128-aligned offsets, the
// permutation (stable within an expert), the inverse map and the GEMM tile list, on routings
// with dropped and non-local ids, empty experts, one hot expert, and sizes around each of the
// three plans' limits (one warp, one CTA, a grid of chunks).
#include <algorithm>
#include <tuple>
#include <utility>

#include "common/random_inputs.h"
#include "cuda/routing/plan.h"
#include "cuda/routing/sorted_rows.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

struct HostPlan {
  std::vector<int> offsets, padded, sorted, rows;
  std::vector<cuda::GemmTile> tiles, large_tiles;
};

HostPlan host_plan(const std::vector<int32_t>& ids, int local_start, int experts, int tile_rows, int large_rows) {
  HostPlan p;
  std::vector<std::vector<int>> by_expert(static_cast<size_t>(experts));
  for (size_t pair = 0; pair < ids.size(); ++pair) {
    const int e = ids[pair] - local_start;
    if (ids[pair] >= 0 && e >= 0 && e < experts) by_expert[size_t(e)].push_back(int(pair));
  }
  p.rows.assign(ids.size(), -1);
  p.offsets.push_back(0);
  p.padded.push_back(0);
  for (int e = 0; e < experts; ++e) {
    const auto& pairs = by_expert[size_t(e)];
    const size_t in_large = large_rows > 0 ? pairs.size() / size_t(large_rows) * size_t(large_rows) : 0;
    for (size_t i = 0; i < in_large; i += size_t(large_rows))
      p.large_tiles.push_back({e, p.offsets.back() + int(i), large_rows});
    for (size_t i = in_large; i < pairs.size(); i += size_t(tile_rows))
      p.tiles.push_back({e, p.offsets.back() + int(i), int(std::min(pairs.size() - i, size_t(tile_rows)))});
    for (int pair : pairs) {
      p.rows[size_t(pair)] = int(p.sorted.size());
      p.sorted.push_back(pair);
    }
    p.offsets.push_back(p.offsets.back() + int(pairs.size()));
    p.padded.push_back(p.padded.back() + int((pairs.size() + 127) / 128 * 128));
  }
  return p;
}

void expect_tiles_equal(const std::vector<cuda::GemmTile>& got, const std::vector<cuda::GemmTile>& want,
                        const char* list) {
  ASSERT_EQ(got.size(), want.size()) << list;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].expert, want[i].expert) << list << " tile " << i;
    EXPECT_EQ(got[i].row_begin, want[i].row_begin) << list << " tile " << i;
    EXPECT_EQ(got[i].rows, want[i].rows) << list << " tile " << i;
  }
}

// A routing plan's device buffers, poisoned (0xEE bytes) before the plan runs, for `pairs` pairs
// over `experts` local experts.
struct DevicePlan {
  Buffer offsets, padded, sorted, rows, tiles, num_tiles, amax, chunk_counts, large_tiles, num_large, tile_done,
      next_item;
  cuda::RoutingPlan plan;

  DevicePlan(int pairs, int experts, int64_t max_tiles, int64_t max_large)
      : offsets(Backend::kCuda, sizeof(int) * (experts + 1)),
        padded(Backend::kCuda, sizeof(int) * (experts + 1)),
        sorted(Backend::kCuda, sizeof(int) * std::max(pairs, 1)),
        rows(Backend::kCuda, sizeof(int) * std::max(pairs, 1)),
        tiles(Backend::kCuda, sizeof(cuda::GemmTile) * std::max<int64_t>(max_tiles, 1)),
        num_tiles(Backend::kCuda, sizeof(int)),
        amax(Backend::kCuda, 2 * sizeof(uint32_t)),
        chunk_counts(Backend::kCuda, sizeof(int) * std::max<int64_t>(cuda::routing_plan_chunk_ints(pairs, experts), 1)),
        large_tiles(Backend::kCuda, sizeof(cuda::GemmTile) * std::max<int64_t>(max_large, 1)),
        num_large(Backend::kCuda, sizeof(int)),
        tile_done(Backend::kCuda, sizeof(uint32_t) * std::max<int64_t>(max_tiles, 1)),
        next_item(Backend::kCuda, sizeof(uint32_t)),
        plan{static_cast<int*>(offsets.data()),
             static_cast<int*>(padded.data()),
             static_cast<int*>(sorted.data()),
             static_cast<int*>(rows.data()),
             static_cast<cuda::GemmTile*>(tiles.data()),
             static_cast<int*>(num_tiles.data()),
             static_cast<uint32_t*>(amax.data()),
             static_cast<int*>(chunk_counts.data()),
             static_cast<cuda::GemmTile*>(large_tiles.data()),
             static_cast<int*>(num_large.data()),
             static_cast<uint32_t*>(tile_done.data()),
             static_cast<uint32_t*>(next_item.data())} {
    for (Buffer* b : {&offsets, &padded, &sorted, &rows, &tiles, &num_tiles, &amax, &chunk_counts, &large_tiles,
                      &num_large, &tile_done, &next_item})
      b->fill(0xEE);
  }
};

// large_rows > 0: the plan also lists large tiles (routing/plan.h); the one-warp plan never does.
void expect_plan_matches(const std::vector<int32_t>& ids, int local_start, int experts, int tile_rows,
                         int large_rows = 0) {
  const int pairs = int(ids.size());
  const int64_t max_tiles = cuda::max_gemm_tiles(pairs, experts, tile_rows);
  const int64_t max_large = cuda::max_large_tiles(pairs, large_rows);
  Buffer d_ids = Buffer::copy_of(Backend::kCuda, ids);
  DevicePlan d(pairs, experts, max_tiles, max_large);
  const cuda::RoutingPlan& plan = d.plan;
  cuda::configure_routing_plan();
  cuda::launch_routing_plan(static_cast<const int32_t*>(d_ids.data()), pairs, local_start, experts, tile_rows,
                            large_rows, plan, cuda::Launch{});
  testing::sync_device();

  const bool warp_plan = pairs <= cuda::kWarpPlanMaxPairs;
  const HostPlan want = host_plan(ids, local_start, experts, tile_rows, warp_plan ? 0 : large_rows);
  EXPECT_EQ(d.offsets.to_vector<int>(size_t(experts + 1)), want.offsets);
  EXPECT_EQ(d.padded.to_vector<int>(size_t(experts + 1)), want.padded);
  EXPECT_EQ(d.sorted.to_vector<int>(want.sorted.size()), want.sorted);
  EXPECT_EQ(d.rows.to_vector<int>(size_t(pairs)), want.rows);
  const int n = d.num_tiles.to_vector<int>(1)[0], n_large = d.num_large.to_vector<int>(1)[0];
  ASSERT_LE(n, max_tiles);
  ASSERT_LE(n_large, std::max<int64_t>(max_large, 0));
  expect_tiles_equal(d.tiles.to_vector<cuda::GemmTile>(size_t(std::max(n, 0))), want.tiles, "tiles");
  expect_tiles_equal(d.large_tiles.to_vector<cuda::GemmTile>(size_t(std::max(n_large, 0))), want.large_tiles,
                     "large tiles");
  EXPECT_EQ(d.amax.to_vector<uint32_t>(2), (std::vector<uint32_t>{0, 0}));
  EXPECT_EQ(d.next_item.to_vector<uint32_t>(1), (std::vector<uint32_t>{0})) << "the persistent GEMM 2's counter";
  EXPECT_EQ(d.tile_done.to_vector<uint32_t>(size_t(std::max(n, 0))), std::vector<uint32_t>(size_t(std::max(n, 0)), 0))
      << "the GEMM 1 -> GEMM 2 counters of the plan's tiles start at zero";
}

// 32 of 64 experts local, from expert 16: ids below and above the local range.
MoeConfig middle_local_range(int top_k) {
  MoeConfig config;
  config.num_experts = 64;
  config.local_expert_start = 16;
  config.local_experts = 32;
  config.top_k = top_k;
  return config;
}

TEST(GpuRoutingPlan, MatchesHostStableGrouping) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(21);
  const MoeConfig config = middle_local_range(4);
  for (int tokens : {1, 3, 100, 129, 1000, 5000}) {
    for (int tile_rows : {8, 64}) {
      auto routing = testing::uniform_routing(tokens, config.num_experts, config.top_k, rng);
      testing::drop_some(routing, config, 0.2, rng);
      expect_plan_matches(routing.ids, config.local_expert_start, config.local_experts, tile_rows);
      auto skewed = testing::skewed_routing(tokens, config.num_experts, config.top_k, rng);
      expect_plan_matches(skewed.ids, 0, config.num_experts, tile_rows);
    }
  }
}

TEST(GpuRoutingPlan, EdgeRoutings) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(22);
  const auto hot = testing::single_expert_routing(3000, 2, 5, rng);  // one expert, the rest -1
  expect_plan_matches(hot.ids, 0, 8, 64);
  expect_plan_matches(std::vector<int32_t>(17, -1), 0, 8, 8);                  // everything dropped
  expect_plan_matches(std::vector<int32_t>(40, 1000), 0, 8, 8);                // everything non-local
  expect_plan_matches(std::vector<int32_t>{}, 0, 8, 8);                        // no tokens
  // Around the one-warp plan's limit (kWarpPlanMaxPairs = 32): one pair, 31-33 pairs over few and
  // over the most experts, 32 pairs on one expert (four 8-row tiles), 32 dropped or non-local pairs.
  for (int pairs : {1, 31, 32, 33}) {
    for (int experts : {8, 1024}) {
      std::vector<int32_t> ids(static_cast<size_t>(pairs));
      for (auto& id : ids) id = rng.below(experts + 2) - 1;  // some -1, some past the local range
      expect_plan_matches(ids, 0, experts, 8);
    }
  }
  expect_plan_matches(std::vector<int32_t>(32, 5), 0, 8, 8);
  expect_plan_matches(std::vector<int32_t>(32, -1), 0, 1024, 64);
  expect_plan_matches(std::vector<int32_t>(32, 2000), 1000, 24, 8);
  // Around the one-CTA plan's limit (kCtaPlanMaxPairs) and the grid plan's chunk (kPlanChunkPairs):
  // the last chunk full, one pair long, or short; the most chunks, and one pair more (chunks twice
  // as long); a hot expert across every chunk of the grid.
  constexpr int kMostChunked = cuda::kPlanMaxChunks * cuda::kPlanChunkPairs;
  for (int pairs : {cuda::kCtaPlanMaxPairs, cuda::kCtaPlanMaxPairs + 1, 3 * cuda::kPlanChunkPairs,
                    3 * cuda::kPlanChunkPairs + 1, 5 * cuda::kPlanChunkPairs - 7, kMostChunked, kMostChunked + 1}) {
    for (int experts : {8, 256}) {
      std::vector<int32_t> ids(static_cast<size_t>(pairs));
      for (auto& id : ids) id = rng.below(experts + 2) - 1;
      expect_plan_matches(ids, 0, experts, 64);
      for (size_t i = 0; i < ids.size(); i += 3) ids[i] = 5;
      expect_plan_matches(ids, 0, experts, 8);
    }
  }
  std::vector<int32_t> many(200000);
  for (auto& id : many) id = rng.below(1024);
  expect_plan_matches(many, 0, 1024, 64);  // the most local experts the plan supports
}

// The grid plan's second launch scans all the chunks' counts in every CTA (a lane holds four chunks of
// an expert): the benchmark shapes' largest batches (16384 tokens, top-8 over 128 experts and 256:
// kPlanMaxChunks chunks), a batch past them (larger chunks), local expert counts that leave a warp's
// lanes part-used (48, 300), a hot expert, and a local range in the middle of the ids.
TEST(GpuRoutingPlan, GridPlanAtBenchmarkSizes) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(24);
  for (auto [tokens, experts, top_k] : {std::tuple{16384, 128, 8}, std::tuple{16384, 256, 8}, std::tuple{20000, 256, 8},
                                        std::tuple{3000, 48, 6}, std::tuple{7001, 300, 6}}) {
    MoeConfig config;
    config.num_experts = 2 * experts;
    config.local_expert_start = experts / 2;
    config.local_experts = experts;
    config.top_k = top_k;
    auto uniform = testing::uniform_routing(tokens, config.num_experts, top_k, rng);
    testing::drop_some(uniform, config, 0.1, rng);
    expect_plan_matches(uniform.ids, config.local_expert_start, experts, 64);
    const auto skewed = testing::skewed_routing(tokens, experts, top_k, rng);  // hot experts 0-3, all local
    expect_plan_matches(skewed.ids, 0, experts, 128, 256);
  }
}

// Large tiles (routing/plan.h) from the one-CTA and the grid plan: skewed routings whose hot
// experts hold several large tiles and a short rest, experts with exactly one large tile's rows,
// one row fewer or more, and none; the one-warp plan lists none.
TEST(GpuRoutingPlan, LargeTilesForExpertsWithManyRows) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(23);
  MoeConfig config;  // experts [0, 48) of 64 local: the skewed routing's hot experts 0-3 among them
  config.num_experts = 64;
  config.local_expert_start = 0;
  config.local_experts = 48;
  config.top_k = 4;
  for (int tokens : {8, 100, 700, 5000}) {
    for (auto [tile_rows, large_rows] : {std::pair{8, 32}, std::pair{32, 128}, std::pair{48, 128}}) {
      auto skewed = testing::skewed_routing(tokens, 64, 4, rng);
      testing::drop_some(skewed, config, 0.1, rng);
      expect_plan_matches(skewed.ids, 0, 48, tile_rows, large_rows);
      const auto uniform = testing::uniform_routing(tokens, 64, 4, rng);
      expect_plan_matches(uniform.ids, 0, 64, tile_rows, large_rows);
    }
  }
  for (int count : {31, 32, 33, 64, 95}) {  // expert 3 holds `count` rows, expert 5 one
    std::vector<int32_t> ids(size_t(count), 3);
    ids.push_back(5);
    expect_plan_matches(ids, 0, 8, 8, 32);
  }
}

// GEMM 1's rows copied into the plan's sorted order (routing/sorted_rows.h): every sorted row is its
// pair's token row of x, bit for bit, and the rows past the batch's local pairs keep their poison.
void expect_sorted_rows_match(const testing::Routing& routing, int local_start, int experts, int hidden,
                              testing::Rng& rng, bool x_is_input = true) {
  const int pairs = int(routing.ids.size()), top_k = routing.top_k;
  const std::vector<bf16> x = testing::random_bf16(size_t(routing.num_tokens) * size_t(hidden), rng);
  Buffer d_ids = Buffer::copy_of(Backend::kCuda, routing.ids), d_x = Buffer::copy_of(Backend::kCuda, x);
  DevicePlan d(pairs, experts, cuda::max_gemm_tiles(pairs, experts, 64), 0);
  Buffer out(Backend::kCuda, sizeof(bf16) * size_t(std::max(pairs, 1)) * size_t(hidden));
  out.fill(0xEE);
  cuda::configure_routing_plan();
  cuda::launch_routing_plan(static_cast<const int32_t*>(d_ids.data()), pairs, local_start, experts, 64, 0, d.plan,
                            cuda::Launch{});
  cuda::launch_gather_sorted_rows(static_cast<const bf16*>(d_x.data()), x_is_input, routing.num_tokens, top_k, hidden,
                                  d.plan, static_cast<bf16*>(out.data()), cuda::Launch{});
  testing::sync_device();

  const HostPlan want = host_plan(routing.ids, local_start, experts, 64, 0);
  const std::vector<uint16_t> got = out.to_vector<uint16_t>(size_t(pairs) * size_t(hidden));
  size_t wrong = 0, unpoisoned = 0;
  for (size_t r = 0; r < size_t(pairs); ++r) {
    for (size_t c = 0; c < size_t(hidden); ++c) {
      const uint16_t v = got[r * size_t(hidden) + c];
      if (r < want.sorted.size()) {
        const size_t token = size_t(want.sorted[r] / top_k);
        wrong += v != x[token * size_t(hidden) + c].bits;
      } else {
        unpoisoned += v != 0xEEEE;
      }
    }
  }
  EXPECT_EQ(wrong, 0u) << pairs << " pairs, hidden " << hidden << ": sorted rows that are not their pair's x row";
  EXPECT_EQ(unpoisoned, 0u) << pairs << " pairs, hidden " << hidden << ": rows past the local pairs written";
}

// Uniform routings with dropped and other ranks' ids, a skewed one, one hot expert, one token, no
// token and nothing local, the most slots (top-64); rows of 9 chunks (fewer than a CTA's threads) and
// of 600 (two of its column slices); each of the three plans (one warp, one CTA, the grid); x's loads
// before and after the wait for the plan.
TEST(GpuRoutingPlan, SortedRowsAreTheirPairsTokenRows) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(25);
  for (int hidden : {72, 4800}) {
    for (auto [tokens, top_k] : {std::pair{1, 8}, std::pair{3, 4}, std::pair{300, 6}, std::pair{700, 8}}) {
      const MoeConfig config = middle_local_range(top_k);
      auto uniform = testing::uniform_routing(tokens, config.num_experts, top_k, rng);
      testing::drop_some(uniform, config, 0.2, rng);
      expect_sorted_rows_match(uniform, config.local_expert_start, config.local_experts, hidden, rng);
      expect_sorted_rows_match(testing::skewed_routing(tokens, config.num_experts, top_k, rng), 0, config.num_experts,
                               hidden, rng);
    }
  }
  expect_sorted_rows_match(testing::single_expert_routing(500, 4, 7, rng), 0, 8, 264, rng);
  // top-64, loads after the wait
  expect_sorted_rows_match(testing::uniform_routing(50, 64, 64, rng), 0, 64, 72, rng, false);
  testing::Routing none = testing::uniform_routing(40, 8, 2, rng);
  for (auto& id : none.ids) id = 100;  // every id another rank's
  expect_sorted_rows_match(none, 0, 8, 72, rng);
  expect_sorted_rows_match(testing::uniform_routing(0, 8, 2, rng), 0, 8, 72, rng);
}

}  // namespace
}  // namespace fp4moe
