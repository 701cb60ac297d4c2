// Tensor parallelism over the intermediate (moe/tensor_parallel.h): a rank's shard holds exactly its
// rows of gate and up and its columns of down (and down's bias on rank 0 only); the float64 references
// of the ranks' layers add up to the unsharded layer's in W4A16 and calibrated W4A4, with biases,
// expert parallelism and dropped ids (in dynamic W4A4 each rank's amax is its shard's); the ranks' CPU
// forwards summed stay within the spec's bound of the references' sum; and the argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/compare.h"
#include "common/configs.h"
#include "common/expect_error.h"
#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/run_layer.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/tensor_parallel.h"

namespace fp4moe {
namespace {

using namespace fp4moe::testing;

// 96 splits into 2, 3 and 6 ranks (48, 32, 16 each) but not into 4 (24 is not a multiple of 16).
MoeConfig full_config(QuantMode mode) {
  MoeConfig c = make_config(6, 64, 96, 2, 24, Activation::kSilu, mode);
  c.local_expert_start = 1;  // expert parallelism and tensor parallelism together
  c.local_experts = 4;
  return c;
}

TEST(TensorParallel, ShardHoldsItsRowsAndColumns) {
  const MoeConfig c = full_config(QuantMode::kW4A16);
  const RandomExperts experts(c, 3, /*with_bias=*/true);
  const int H = c.hidden, I = c.intermediate;
  for (int size : {1, 2, 3, 6}) {
    const int local = I / size;
    for (int rank = 0; rank < size; ++rank) {
      const OwnedExpertView full = experts.view(1);
      const RandomExpert& x = experts.expert(1);
      const ExpertShard s = shard_expert(full.view, H, I, {rank, size});
      const int first = rank * local;
      // gate and up: views of the full expert's rows, biases sliced alike.
      EXPECT_EQ(s.view.gate.packed, full.view.gate.packed + first * H / 2);
      EXPECT_EQ(s.view.up.scales, full.view.up.scales + first * H / 16);
      EXPECT_EQ(s.view.gate.bias, full.view.gate.bias + first);
      EXPECT_EQ(s.view.up.bias, full.view.up.bias + first);
      EXPECT_EQ(s.view.gate.scale_2, x.gate.scale_2);
      EXPECT_EQ(s.view.up.scale_2, x.up.scale_2);
      // down: every row's columns [first, first + local), element by element.
      ASSERT_EQ(s.down_packed.size(), size_t(H * local / 2));
      ASSERT_EQ(s.view.down.packed, s.down_packed.data());
      for (int r = 0; r < H; ++r) {
        for (int k = 0; k < local; ++k) {
          const uint8_t byte = s.view.down.packed[r * local / 2 + k / 2];
          ASSERT_EQ(k % 2 ? byte >> 4 : byte & 0xF, x.down.code(r, first + k)) << rank << "/" << size;
          ASSERT_EQ(s.view.down.scales[r * local / 16 + k / 16], x.down.scale(r, first + k));
        }
      }
      EXPECT_EQ(s.view.down.scale_2, x.down.scale_2);
      EXPECT_EQ(s.view.down.bias, rank == 0 ? full.view.down.bias : nullptr) << "down's bias: rank 0 only";
    }
  }
}

struct Shards {
  MoeConfig local_config;
  std::vector<std::unique_ptr<MoeLayer>> ranks;
};

// The `size` ranks' CPU layers of `c`'s experts, with input scales `a1`, `a2` in W4A4 (0: dynamic).
Shards make_shards(const MoeConfig& c, const RandomExperts& experts, int size, float a1, float a2) {
  Shards s;
  s.local_config = c;
  s.local_config.intermediate = shard_intermediate(c.intermediate, {0, size});
  for (int rank = 0; rank < size; ++rank) {
    auto layer = make_moe_layer(s.local_config, Backend::kCpu, {.cpu_threads = 2});
    for (int e = 0; e < experts.size(); ++e) {
      const OwnedExpertView full = experts.view(e);
      layer->load_expert(e, shard_expert(full.view, c.hidden, c.intermediate, {rank, size}).view);
    }
    if (c.mode == QuantMode::kW4A4) layer->set_input_scales(a1, a2);
    s.ranks.push_back(std::move(layer));
  }
  return s;
}

enum class Scaling { kW4A16, kW4A4Calibrated, kW4A4Dynamic };

class TensorParallelSum : public ::testing::TestWithParam<Scaling> {};

// Every intermediate element and its NVFP4 block lie on one rank, so the ranks' float64 references
// are the unsharded one's terms, summed in another order. In W4A4 the calibrated scales are the
// layer's on every rank; dynamic scales are each rank's own (its shard's amax), so there the ranks'
// sum is held to the ranks' references only.
TEST_P(TensorParallelSum, RanksAddUpToTheUnshardedLayer) {
  const Scaling scaling = GetParam();
  const MoeConfig c = full_config(scaling == Scaling::kW4A16 ? QuantMode::kW4A16 : QuantMode::kW4A4);
  const RandomExperts experts(c, 5, /*with_bias=*/true);
  // amax / (6 * 448), as ModelOpt's input_scale; 0: dynamic.
  const float a1 = scaling == Scaling::kW4A4Calibrated ? 4.5f / 2688.0f : 0.0f;
  const float a2 = scaling == Scaling::kW4A4Calibrated ? 3.0f / 2688.0f : 0.0f;
  auto full = make_moe_layer(c, Backend::kCpu, {.cpu_threads = 2});
  experts.load_into(*full);
  if (c.mode == QuantMode::kW4A4) full->set_input_scales(a1, a2);

  Rng rng(7);
  const auto x = random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  Routing routing = uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  drop_some(routing, c, 0.2, rng);
  const std::vector<double> ref = run_reference(*full, x, routing);

  for (int size : {2, 3, 6}) {
    const Shards shards = make_shards(c, experts, size, a1, a2);
    std::vector<double> ref_sum(ref.size(), 0.0), out_sum(ref.size(), 0.0);
    for (const auto& rank : shards.ranks) {
      const std::vector<double> r = run_reference(*rank, x, routing);
      const std::vector<bf16> y = run_forward(*rank, x, routing);
      ASSERT_FALSE(any_nan(y));
      for (size_t i = 0; i < ref.size(); ++i) {
        ref_sum[i] += r[i];
        out_sum[i] += double(bf16_to_float(y[i]));
      }
    }
    const double ref_err = rel_error(ref_sum, ref), out_err = rel_error(out_sum, ref_sum);
    std::printf("scaling %d, %d ranks: references' sum %.3e from the unsharded reference, forwards' sum %.3e from "
                "the references' sum\n",
                int(scaling), size, ref_err, out_err);
    EXPECT_LT(out_err, 1e-2) << size << " ranks";
    if (scaling == Scaling::kW4A4Dynamic) {
      EXPECT_GT(ref_err, 1e-6) << "each rank's dynamic scale is its own shard's: not the unsharded layer's";
      EXPECT_LT(ref_err, 0.3) << size << " ranks";
    } else {
      EXPECT_LT(ref_err, 1e-12) << size << " ranks";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, TensorParallelSum,
                         ::testing::Values(Scaling::kW4A16, Scaling::kW4A4Calibrated, Scaling::kW4A4Dynamic));

// The down bias added once: had every rank kept it, the sum would carry it `size` times.
TEST(TensorParallel, DownBiasOnEveryRankWouldBeCaught) {
  const MoeConfig c = full_config(QuantMode::kW4A16);
  const RandomExperts experts(c, 5, /*with_bias=*/true);
  auto full = make_moe_layer(c, Backend::kCpu, {.cpu_threads = 2});
  experts.load_into(*full);
  Rng rng(7);
  const auto x = random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const Routing routing = uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  const std::vector<double> ref = run_reference(*full, x, routing);

  MoeConfig local = c;
  local.intermediate = c.intermediate / 2;
  std::vector<double> sum(ref.size(), 0.0);
  for (int rank = 0; rank < 2; ++rank) {
    auto layer = make_moe_layer(local, Backend::kCpu, {.cpu_threads = 2});
    for (int e = 0; e < experts.size(); ++e) {
      const OwnedExpertView v = experts.view(e);
      ExpertShard s = shard_expert(v.view, c.hidden, c.intermediate, {rank, 2});
      s.view.down.bias = v.view.down.bias;  // the mistake
      layer->load_expert(e, s.view);
    }
    const std::vector<double> r = run_reference(*layer, x, routing);
    for (size_t i = 0; i < ref.size(); ++i) sum[i] += r[i];
  }
  EXPECT_GT(rel_error(sum, ref), 1e-2);
}

TEST(TensorParallel, Errors) {
  const MoeConfig c = full_config(QuantMode::kW4A16);
  const RandomExperts experts(c, 3);
  const OwnedExpertView full = experts.view(0);
  const int H = c.hidden, I = c.intermediate;
  expect_error([&] { shard_expert(full.view, H, I, {0, 0}); }, "shard_expert: shard.size: expected at least 1, got 0");
  expect_error([&] { shard_expert(full.view, H, I, {3, 3}); }, "shard_expert: shard.rank: expected in [0, 3), got 3");
  expect_error([&] { shard_expert(full.view, H, I, {-1, 2}); }, "shard.rank: expected in [0, 2), got -1");
  expect_error([&] { shard_expert(full.view, H, I, {0, 4}); },
               "shard_expert: shard.size: expected a divisor of intermediate 96 leaving each rank a multiple of 16 "
               "(the NVFP4 block along down's K), got 4");
  expect_error([&] { shard_expert(full.view, H, I, {0, 5}); }, "a divisor of intermediate 96");
  expect_error([&] { shard_intermediate(96, {1, 12}, "here"); }, "here: shard.size: expected a divisor");
  EXPECT_EQ(shard_intermediate(96, {5, 6}), 16);
  expect_error([&] { shard_expert(full.view, 60, I, {0, 2}); }, "shard_expert: hidden: expected a positive multiple");

  const OwnedExpertView swizzled = experts.view(0, ScaleLayout::kSwizzled128x4);
  expect_error([&] { shard_expert(swizzled.view, H, I, {0, 2}); },
               "shard_expert: full.gate.scale_layout: expected ScaleLayout::kLinear (unswizzle_scales first)");
  ExpertWeightsView broken = full.view;
  broken.down.scales = nullptr;
  expect_error([&] { shard_expert(broken, H, I, {0, 2}); }, "shard_expert: full.down.scales: expected a non-null");
}

}  // namespace
}  // namespace fp4moe
