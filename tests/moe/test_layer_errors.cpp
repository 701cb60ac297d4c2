// Bad calls into a CPU layer are rejected with a message naming the argument and what was
// expected: expert loading, input scales, forward arguments, workspace, the reference, backends.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/configs.h"
#include "common/expect_error.h"
#include "common/random_experts.h"
#include "fp4moe/moe/layer.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe {
namespace {

using testing::expect_error;

MoeConfig small_config() { return testing::make_config(4, 32, 48, 2, 16); }

// A loaded layer and valid arguments for 4 tokens, for each test to break one thing.
struct Fixture {
  MoeConfig config = small_config();
  testing::RandomExperts experts{config, 5};
  std::unique_ptr<MoeLayer> layer = make_moe_layer(config, Backend::kCpu);
  std::vector<bf16> x = std::vector<bf16>(4 * 32, float_to_bf16(0.5f));
  std::vector<int32_t> ids = {0, 1, 2, 3, 1, 2, 3, -1};
  std::vector<float> weights = std::vector<float>(8, 0.5f);
  std::vector<bf16> out = std::vector<bf16>(4 * 32);
  std::vector<unsigned char> workspace;
  ForwardArgs args;

  Fixture() {
    experts.load_into(*layer);
    workspace.resize(layer->workspace_bytes(config.max_tokens));
    args = {4, x.data(), ids.data(), weights.data(), out.data()};
  }
  void forward() { layer->forward(args, workspace.data(), workspace.size(), nullptr); }
};

TEST(LayerErrors, LoadExpert) {
  Fixture f;
  const testing::OwnedExpertView good = f.experts.view(0);
  expect_error([&] { f.layer->load_expert(4, good.view); },
               "fp4moe: load_expert: local_expert: expected 0..num_local_experts - 1 (3), got 4");
  expect_error([&] { f.layer->load_expert(-1, good.view); },
               "fp4moe: load_expert: local_expert: expected 0..num_local_experts - 1 (3), got -1");
  ExpertWeightsView bad = good.view;
  bad.gate.packed = nullptr;
  expect_error([&] { f.layer->load_expert(1, bad); },
               "fp4moe: load_expert: expert 1 gate.packed: expected a non-null pointer, got null");
  bad = good.view;
  bad.down.scales = nullptr;
  expect_error([&] { f.layer->load_expert(2, bad); },
               "fp4moe: load_expert: expert 2 down.scales: expected a non-null pointer, got null");
  bad = good.view;
  bad.up.scale_2 = 0.0f;
  expect_error([&] { f.layer->load_expert(0, bad); },
               "fp4moe: load_expert: expert 0 up.scale_2: expected a finite positive weight_scale_2");
  bad = good.view;
  bad.up.scale_layout = ScaleLayout(9);
  expect_error([&] { f.layer->load_expert(0, bad); },
               "fp4moe: load_expert: expert 0 up.scale_layout: expected ScaleLayout::kLinear or "
               "ScaleLayout::kSwizzled128x4, got 9");
  // A NaN (0x7F) or negative block scale is a corrupt checkpoint: rejected, the expert keeps its weights.
  for (uint8_t corrupt : {uint8_t(0x7F), uint8_t(0xFF), uint8_t(0x90)}) {
    const auto& gate = f.experts.expert(3).gate;
    std::vector<uint8_t> scales = gate.scales;
    scales[scales.size() / 2] = corrupt;
    bad = f.experts.view(3).view;
    bad.gate.scales = scales.data();
    expect_error([&] { f.layer->load_expert(3, bad); },
                 "fp4moe: load_expert: expert 3 gate.scales: expected E4M3 block scales >= 0 and not NaN, got a NaN "
                 "or negative scale");
  }
  // A non-finite bias likewise.
  std::vector<float> bias(32, 0.25f);
  for (float corrupt : {NAN, INFINITY}) {
    bias[17] = corrupt;
    bad = f.experts.view(2).view;
    bad.down.bias = bias.data();
    expect_error([&] { f.layer->load_expert(2, bad); },
                 "fp4moe: load_expert: expert 2 down.bias: expected finite values, got a non-finite value at row 17");
  }
  f.forward();  // still loaded, with the good weights
}

TEST(LayerErrors, ForwardNeedsEveryExpertLoaded) {
  const MoeConfig c = small_config();
  auto layer = make_moe_layer(c, Backend::kCpu);
  testing::RandomExperts experts(c, 5);
  layer->load_expert(0, experts.view(0).view);
  layer->load_expert(1, experts.view(1).view);
  ForwardArgs args;
  expect_error([&] { layer->forward(args, nullptr, 0, nullptr); },
               "fp4moe: forward: experts: expected every local expert loaded with load_expert() first, got local "
               "expert 2 not loaded");
}

TEST(LayerErrors, ForwardArguments) {
  Fixture f;
  f.forward();  // the fixture itself is valid
  f.args.num_tokens = 17;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.num_tokens: expected 0..max_tokens (16), got 17");
  f.args.num_tokens = -1;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.num_tokens: expected 0..max_tokens (16), got -1");
  f.args.num_tokens = 4;
  f.args.x = nullptr;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.x: expected a non-null pointer, got null");
  f.args.x = f.x.data();
  f.args.topk_ids = nullptr;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.topk_ids: expected a non-null pointer, got null");
  f.args.topk_ids = f.ids.data();
  f.args.topk_weights = nullptr;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.topk_weights: expected a non-null pointer, got null");
  f.args.topk_weights = f.weights.data();
  f.args.out = nullptr;
  expect_error([&] { f.forward(); }, "fp4moe: forward: args.out: expected a non-null pointer, got null");
}

TEST(LayerErrors, Workspace) {
  Fixture f;
  const size_t need = f.layer->workspace_bytes(4);
  EXPECT_GT(need, 0u);
  EXPECT_LE(need, f.layer->workspace_bytes(16));
  expect_error([&] { f.layer->forward(f.args, f.workspace.data(), need - 1, nullptr); },
               "fp4moe: forward: workspace_size: expected at least workspace_bytes(num_tokens) = " +
                   std::to_string(need) + ", got " + std::to_string(need - 1));
  expect_error([&] { f.layer->forward(f.args, nullptr, need, nullptr); },
               "fp4moe: forward: workspace: expected a non-null pointer (workspace_bytes(num_tokens) = " +
                   std::to_string(need) + "), got null");
  expect_error([&] { f.layer->workspace_bytes(-2); },
               "fp4moe: workspace_bytes: max_tokens: expected a non-negative token count, got -2");
}

TEST(LayerErrors, InputScales) {
  Fixture f;
  f.layer->set_input_scales(0.01f, 0.0f);
  expect_error([&] { f.layer->set_input_scales(-1.0f, 0.0f); },
               "fp4moe: set_input_scales: gemm1_input_scale: expected 0 (dynamic) or a finite positive input_scale");
  expect_error([&] { f.layer->set_input_scales(0.0f, NAN); },
               "fp4moe: set_input_scales: gemm2_input_scale: expected 0 (dynamic) or a finite positive input_scale");
  expect_error([&] { f.layer->set_input_scales(1e-38f, 0.0f); },
               "fp4moe: set_input_scales: gemm1_input_scale: expected 0 (dynamic) or a finite positive input_scale "
               ">= 2^-118");
}

TEST(LayerErrors, Reference) {
  Fixture f;
  expect_error([&] { reference_forward_f64(*f.layer, f.args, nullptr); },
               "fp4moe: reference_forward_f64: out: expected a non-null pointer, got null");
  f.args.num_tokens = 20;
  std::vector<double> out(20 * 32);
  expect_error([&] { reference_forward_f64(*f.layer, f.args, out.data()); },
               "fp4moe: reference_forward_f64: args.num_tokens: expected 0..max_tokens (16), got 20");
}

TEST(LayerErrors, Backends) {
  BackendOptions options;
  options.cpu_threads = -3;
  expect_error([&] { make_moe_layer(small_config(), Backend::kCpu, options); },
               "fp4moe: make_moe_layer: options.cpu_threads: expected 0 (all cores) or a positive count, got -3");
  MoeConfig bad = small_config();
  bad.top_k = 5;
  expect_error([&] { make_moe_layer(bad, Backend::kCpu); },
               "fp4moe: MoeConfig: top_k: expected 1..num_experts (4), got 5");
  if (!cuda_backend_available()) {
#if FP4MOE_WITH_CUDA
    expect_error([&] { make_moe_layer(small_config(), Backend::kCuda); },
                 "fp4moe: make_moe_layer: backend: expected a visible CUDA device for Backend::kCuda, got none found");
#else
    expect_error([&] { make_moe_layer(small_config(), Backend::kCuda); },
                 "fp4moe: make_moe_layer: backend: expected Backend::kCpu (this build has no CUDA backend), got "
                 "Backend::kCuda");
#endif
  }
}

}  // namespace
}  // namespace fp4moe
