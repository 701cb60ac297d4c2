// `fp4moe bench`'s arithmetic and rows without a GPU: the spec's shapes, the floor and the weight
// copies on hand-computed cases, the routing of uniform and skewed rows, and the command-line lists'
// errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "cli/bench_plan.h"
#include "common/expect_error.h"

namespace fp4moe::cli {
namespace {

using testing::expect_error;

TEST(BenchPlan, ShapesAreTheSpecs) {
  const std::vector<BenchShape>& s = bench_shapes();
  ASSERT_EQ(s.size(), 4u);
  const BenchShape expected[] = {{"qwen3-30b-a3b", 128, 2048, 768, 8},
                                 {"gpt-oss-120b", 128, 2880, 2880, 4},
                                 {"deepseek-v4-flash", 256, 4096, 2048, 6},
                                 {"deepseek-v3", 256, 7168, 2048, 8}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s[i].name, expected[i].name);
    EXPECT_EQ(s[i].experts, expected[i].experts);
    EXPECT_EQ(s[i].hidden, expected[i].hidden);
    EXPECT_EQ(s[i].intermediate, expected[i].intermediate);
    EXPECT_EQ(s[i].top_k, expected[i].top_k);
  }
}

TEST(BenchPlan, ParsesShapesAndTokens) {
  EXPECT_EQ(parse_bench_shapes("all", "fp4moe bench", "--shapes").size(), 4u);
  const auto two = parse_bench_shapes("deepseek-v3, qwen3-30b-a3b", "fp4moe bench", "--shapes");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].name, "deepseek-v3");
  EXPECT_EQ(two[1].name, "qwen3-30b-a3b");
  expect_error([] { parse_bench_shapes("qwen3", "fp4moe bench", "--shapes"); },
               "fp4moe bench: --shapes: expected 'all' or a comma list of qwen3-30b-a3b, gpt-oss-120b, "
               "deepseek-v4-flash, deepseek-v3, got 'qwen3'");
  expect_error([] { parse_bench_shapes(",", "fp4moe bench", "--shapes"); }, "got ','");

  EXPECT_EQ(parse_token_list("1,8, 64,512", "fp4moe bench", "--tokens", 65536), (std::vector<int>{1, 8, 64, 512}));
  const char* expected = "fp4moe bench: --tokens: expected a comma list of token batches, each 1..100, got ";
  for (const char* bad : {"0", "1,x", "", "101", "8.5", "-1", "99999999999999999999"})
    expect_error([&] { parse_token_list(bad, "fp4moe bench", "--tokens", 100); },
                 std::string(expected) + "'" + bad + "'");
}

// A command's shapes: --shapes (all by default), or one custom shape of all four sizes, never both.
TEST(BenchPlan, ShapesFromArguments) {
  const CommandLine line{"fp4moe bench", "", {{"shapes", "LIST", ""}, {"experts", "E", ""}, {"hidden", "H", ""},
                                               {"intermediate", "I", ""}, {"top-k", "K", ""}}, ""};
  const auto shapes = [&](const Argv& argv) { return shapes_from_args(Args(argv, line)); };
  EXPECT_EQ(shapes({}).size(), 4u);
  ASSERT_EQ(shapes({"--shapes", "gpt-oss-120b"}).size(), 1u);
  const auto custom = shapes({"--experts", "16", "--hidden", "5120", "--intermediate", "8192", "--top-k", "1"});
  ASSERT_EQ(custom.size(), 1u);
  EXPECT_EQ(custom[0].name, "custom");
  EXPECT_EQ(custom[0].experts, 16);
  EXPECT_EQ(custom[0].hidden, 5120);
  EXPECT_EQ(custom[0].intermediate, 8192);
  EXPECT_EQ(custom[0].top_k, 1);
  expect_error([&] { shapes({"--experts", "16", "--hidden", "5120", "--top-k", "1"}); },
               "fp4moe bench: --intermediate: expected given too: a custom shape takes --experts, --hidden, "
               "--intermediate and --top-k, got nothing");
  expect_error(
      [&] {
        shapes({"--shapes", "all", "--experts", "16", "--hidden", "5120", "--intermediate", "8192", "--top-k", "1"});
      },
      "--shapes: expected to be left out with a custom shape");
  expect_error([&] { shapes({"--experts", "8", "--hidden", "5120", "--intermediate", "8192", "--top-k", "9"}); },
               "--top-k: expected 1..--experts (8), got 9");
  expect_error([&] { shapes({"--experts", "8", "--hidden", "5000", "--intermediate", "8192", "--top-k", "2"}); },
               "--hidden: expected a multiple of 16, 16..65536, got 5000");
}

TEST(BenchPlan, SkewedRowsFromSixtyFourTokens) {
  const auto rows = bench_rows({1, 63, 64, 512}, true);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[2].tokens, 64);
  EXPECT_EQ(rows[2].routing, RoutingKind::kUniform);
  EXPECT_EQ(rows[3].tokens, 64);
  EXPECT_EQ(rows[3].routing, RoutingKind::kSkewed);
  EXPECT_EQ(rows[5].routing, RoutingKind::kSkewed);
  EXPECT_EQ(bench_rows({1, 64, 512}, false).size(), 3u);
}

TEST(BenchPlan, UniformRoutingIsSoftmaxTopkOfDistinctExperts) {
  const BenchShape shape{"s", 128, 64, 64, 8};
  const BenchRouting r = bench_routing(shape, {256, RoutingKind::kUniform}, 7);
  ASSERT_EQ(r.ids.size(), 256u * 8);
  std::set<int32_t> all;
  for (int t = 0; t < 256; ++t) {
    const std::set<int32_t> ids(r.ids.begin() + t * 8, r.ids.begin() + t * 8 + 8);
    EXPECT_EQ(ids.size(), 8u) << "token " << t;
    all.insert(ids.begin(), ids.end());
    const float sum = std::accumulate(r.weights.begin() + t * 8, r.weights.begin() + t * 8 + 8, 0.0f);
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
    for (int j = 1; j < 8; ++j) EXPECT_GE(r.weights[size_t(t * 8 + j - 1)], r.weights[size_t(t * 8 + j)]);
  }
  EXPECT_GE(*all.begin(), 0);
  EXPECT_LT(*all.rbegin(), 128);
  EXPECT_EQ(r.touched, int(all.size()));
  EXPECT_GT(r.touched, 120);  // 2048 Gaussian picks of 128 experts leave almost none untouched

  const BenchRouting again = bench_routing(shape, {256, RoutingKind::kUniform}, 7);
  EXPECT_EQ(again.ids, r.ids);
  EXPECT_NE(bench_routing(shape, {256, RoutingKind::kUniform}, 8).ids, r.ids);
}

TEST(BenchPlan, SkewedRoutingSendsHalfTheTokensToFourExperts) {
  const BenchShape shape{"s", 256, 64, 64, 6};
  const int T = 512;
  const BenchRouting r = bench_routing(shape, {T, RoutingKind::kSkewed}, 3);
  std::vector<int> count(256, 0);
  for (int32_t id : r.ids) ++count[size_t(id)];
  std::vector<int> order(256);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return count[size_t(a)] > count[size_t(b)]; });
  std::set<int32_t> hot(order.begin(), order.begin() + 4);
  int tokens_with_all_hot = 0;
  for (int t = 0; t < T; ++t) {
    int n = 0;
    for (int j = 0; j < 6; ++j) n += hot.count(r.ids[size_t(t * 6 + j)]) ? 1 : 0;
    tokens_with_all_hot += n == 4;
  }
  // The boosted half, and a uniform token almost never picks all four.
  EXPECT_GE(tokens_with_all_hot, T / 2);
  EXPECT_LE(tokens_with_all_hot, T / 2 + 2);
}

TEST(BenchPlan, FloorOnHandComputedCases) {
  const BenchShape qwen3 = bench_shapes()[0];
  // One token, 8 experts: 8 * 3 * 2048 * 768 * 0.5625 weight bytes plus x and y (2 * 2048 * 2).
  const Floor f = moe_floor(qwen3, 1, 8, false, 4.0e12, 700e12);
  EXPECT_DOUBLE_EQ(f.bytes, 21233664.0 + 8192.0);
  EXPECT_DOUBLE_EQ(f.flops, 2.0 * 8 * 3 * 2048 * 768);
  EXPECT_DOUBLE_EQ(f.seconds(), f.bytes / 4.0e12);
  EXPECT_STREQ(f.bound(), "memory");
  // 16384 tokens touch all 128 experts; both GEMMs' 2 * 16384 * 8 * 4718592 operations dominate.
  const Floor p = moe_floor(qwen3, 16384, 128, false, 4.0e12, 700e12);
  EXPECT_DOUBLE_EQ(p.seconds(), 2.0 * 16384 * 8 * 4718592 / 700e12);
  EXPECT_STREQ(p.bound(), "compute");
  // With biases each touched expert adds its FP32 gate, up and down biases: 4 * (2 * 768 + 2048) bytes.
  const Floor b = moe_floor(qwen3, 1, 8, true, 4.0e12, 700e12);
  EXPECT_DOUBLE_EQ(b.bytes, 21233664.0 + 8 * 14336.0 + 8192.0);
  EXPECT_DOUBLE_EQ(b.flops, f.flops);
}

TEST(BenchPlan, CopiesRotatePastL2WithinTheBudget) {
  // 4 * 50 MB of L2 over 21.2 MB a copy: 9.4, so 10 copies.
  EXPECT_EQ(copies_to_defeat_l2(21233664.0, 50'000'000), 10);
  EXPECT_EQ(copies_to_defeat_l2(300e6, 50'000'000), 1);
  EXPECT_EQ(copies_to_defeat_l2(0.0, 50'000'000), 1);
  EXPECT_EQ(copies_within_budget(10, 1e9, 3.5e9), 3);
  EXPECT_EQ(copies_within_budget(10, 1e9, 0.0), 1);
  EXPECT_EQ(copies_within_budget(2, 1e9, 1e12), 2);
}

}  // namespace
}  // namespace fp4moe::cli
