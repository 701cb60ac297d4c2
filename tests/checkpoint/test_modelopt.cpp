// The ModelOpt NVFP4 MoE loader: the committed tiny checkpoint, every tensor-naming variant
// (per-expert gate_proj / w1..w3 / gate_up_proj, per-layer fused [E, ...] with '.' or vLLM's '_'),
// gate/up weight_scale_2 kept exact, expert biases in each variant (BF16, F16, F32; '.bias' or
// '_bias'; on some projections only), config.json parsing per model family, and the errors for
// missing or mis-shaped tensors and biases (raised before any expert is loaded).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "checkpoint/checkpoint_files.h"
#include "checkpoint/tiny_checkpoint.h"
#include "common/compare.h"
#include "common/configs.h"
#include "common/expect_error.h"
#include "common/random_experts.h"
#include "common/run_layer.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe {
namespace {

using testing::expect_error;
using testing::RandomExperts;
using testing::RandomMatrix;
using testing::TempDir;

const std::string kTiny = std::string(FP4MOE_TEST_DATA) + "/tiny-nvfp4";

// A layer loaded from a checkpoint against the same weights loaded directly, on the same tokens and
// routing: the loaded layer's output (in `y_loaded`) finite and bit for bit the direct one's.
void expect_loaded_equals_direct(MoeLayer& loaded, MoeLayer& direct, const std::vector<bf16>& x,
                                 const testing::Routing& routing, std::vector<bf16>& y_loaded) {
  y_loaded = testing::run_forward(loaded, x, routing);
  const auto y_direct = testing::run_forward(direct, x, routing);
  ASSERT_FALSE(testing::any_nan(y_loaded));
  EXPECT_EQ(std::memcmp(y_loaded.data(), y_direct.data(), y_loaded.size() * sizeof(bf16)), 0);
}

MoeConfig synthetic_config() { return testing::make_config(6, 64, 48, 2, 32); }

enum class Naming { kGateProj, kW123, kPerExpertGateUp, kFusedLayer, kFusedVllm };

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return {b, b + n};
}

std::vector<uint8_t> concat(std::initializer_list<const std::vector<uint8_t>*> parts) {
  std::vector<uint8_t> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// Expert biases to write next to the weights (gpt-oss's experts have them): values[e] holds expert
// e's gate [I], up [I] and down [H] biases, each empty where that projection has none; written as
// `dtype`, named PROJ + separator + "bias" (a fused gate_up's as one [2I] or [E, 2I] tensor, gate
// then up, as its weight).
struct SyntheticBiases {
  std::vector<std::array<std::vector<float>, 3>> values;
  DType dtype = DType::kBF16;
  char separator = '.';
};

// Biases k/256 in [-0.5, 0.5), exact in BF16, F16 and F32 alike, on the projections (gate, up,
// down) `which` picks.
SyntheticBiases random_biases(const MoeConfig& c, uint64_t seed, std::array<bool, 3> which, DType dtype,
                              char separator) {
  testing::Rng rng(seed);
  SyntheticBiases b;
  b.dtype = dtype;
  b.separator = separator;
  b.values.resize(size_t(c.num_experts));
  for (auto& expert : b.values) {
    for (int p = 0; p < 3; ++p) {
      if (!which[size_t(p)]) continue;
      expert[size_t(p)].resize(size_t(p == 2 ? c.hidden : c.intermediate));
      for (float& v : expert[size_t(p)]) v = float(rng.below(256) - 128) / 256.0f;
    }
  }
  return b;
}

// `values` as `dtype` bytes; every value must be exact there (random_biases' are).
std::vector<uint8_t> encode(const std::vector<float>& values, DType dtype) {
  if (dtype == DType::kF32) return bytes_of(values.data(), values.size() * 4);
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t f;
    std::memcpy(&f, &v, 4);
    uint16_t bits = uint16_t(f >> 16);  // BF16: the upper half
    if (dtype == DType::kF16 && v != 0.0f)  // a normal F16 of the same sign, exponent and 10 mantissa bits
      bits = uint16_t(((f >> 16) & 0x8000u) | ((((f >> 23) & 0xFFu) - 127u + 15u) << 10) | ((f >> 13) & 0x3FFu));
    else if (dtype == DType::kF16)
      bits = uint16_t((f >> 16) & 0x8000u);
    out.push_back(uint8_t(bits & 0xFF));
    out.push_back(uint8_t(bits >> 8));
  }
  return out;
}

std::vector<float> concat_floats(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Writes `experts` as a ModelOpt checkpoint at layer 2 under the naming `naming`, with `biases`
// where given.
void write_synthetic(const std::string& dir, const MoeConfig& c, const RandomExperts& experts, Naming naming,
                     const SyntheticBiases* biases = nullptr) {
  const std::string prefix = "model.layers.2.mlp.experts";
  const int64_t E = c.num_experts, H = c.hidden, I = c.intermediate;
  SafetensorsWriter w;
  const auto add_matrix = [&](const std::string& base, char sep, const RandomMatrix& m) {
    w.add_owned(base + sep + "weight", DType::kU8, {m.rows, m.cols / 2}, m.packed);
    w.add_owned(base + sep + "weight_scale", DType::kF8E4M3, {m.rows, m.cols / 16}, m.scales);
    w.add_owned(base + sep + "weight_scale_2", DType::kF32, {}, bytes_of(&m.scale_2, 4));
  };
  // Expert e's bias of projection p (0 gate, 1 up, 2 down); empty where none.
  const auto bias = [&](int e, int p) -> const std::vector<float>& {
    static const std::vector<float> none;
    return biases ? biases->values[size_t(e)][size_t(p)] : none;
  };
  const auto add_bias = [&](const std::string& base, std::vector<int64_t> shape, const std::vector<float>& values) {
    if (values.empty()) return;
    w.add_owned(base + biases->separator + "bias", biases->dtype, shape, encode(values, biases->dtype));
  };
  if (naming == Naming::kGateProj || naming == Naming::kW123) {
    const bool w = naming == Naming::kW123;
    for (int e = 0; e < E; ++e) {
      const std::string p = prefix + "." + std::to_string(e) + ".";
      add_matrix(p + (w ? "w1" : "gate_proj"), '.', experts.expert(e).gate);
      add_matrix(p + (w ? "w3" : "up_proj"), '.', experts.expert(e).up);
      add_matrix(p + (w ? "w2" : "down_proj"), '.', experts.expert(e).down);
      add_bias(p + (w ? "w1" : "gate_proj"), {I}, bias(e, 0));
      add_bias(p + (w ? "w3" : "up_proj"), {I}, bias(e, 1));
      add_bias(p + (w ? "w2" : "down_proj"), {H}, bias(e, 2));
    }
  } else if (naming == Naming::kPerExpertGateUp) {
    for (int e = 0; e < E; ++e) {
      const auto& x = experts.expert(e);
      const std::string p = prefix + "." + std::to_string(e) + ".";
      w.add_owned(p + "gate_up_proj.weight", DType::kU8, {2 * I, H / 2}, concat({&x.gate.packed, &x.up.packed}));
      w.add_owned(p + "gate_up_proj.weight_scale", DType::kF8E4M3, {2 * I, H / 16},
                  concat({&x.gate.scales, &x.up.scales}));
      const float s2[2] = {x.gate.scale_2, x.up.scale_2};
      w.add_owned(p + "gate_up_proj.weight_scale_2", DType::kF32, {2}, bytes_of(s2, 8));
      add_matrix(p + "down_proj", '.', x.down);
      add_bias(p + "gate_up_proj", {2 * I}, concat_floats(bias(e, 0), bias(e, 1)));
      add_bias(p + "down_proj", {H}, bias(e, 2));
    }
  } else {
    const bool vllm = naming == Naming::kFusedVllm;
    const char sep = vllm ? '_' : '.';
    const std::string w13 = prefix + "." + (vllm ? "w13" : "gate_up_proj"),
                      w2 = prefix + "." + (vllm ? "w2" : "down_proj");
    std::vector<uint8_t> p13, s13, p2, s2;
    std::vector<float> g13, g2, b13, b2;
    for (int e = 0; e < E; ++e) {
      b13 = concat_floats(b13, concat_floats(bias(e, 0), bias(e, 1)));
      b2 = concat_floats(b2, bias(e, 2));
      const auto& x = experts.expert(e);
      p13 = concat({&p13, &x.gate.packed, &x.up.packed});
      s13 = concat({&s13, &x.gate.scales, &x.up.scales});
      p2 = concat({&p2, &x.down.packed});
      s2 = concat({&s2, &x.down.scales});
      g13.insert(g13.end(), {x.gate.scale_2, x.up.scale_2});
      g2.push_back(x.down.scale_2);
    }
    w.add_owned(w13 + sep + "weight", DType::kU8, {E, 2 * I, H / 2}, p13);
    w.add_owned(w13 + sep + "weight_scale", DType::kF8E4M3, {E, 2 * I, H / 16}, s13);
    w.add_owned(w13 + sep + "weight_scale_2", DType::kF32, {E, 2}, bytes_of(g13.data(), g13.size() * 4));
    w.add_owned(w2 + sep + "weight", DType::kU8, {E, H, I / 2}, p2);
    w.add_owned(w2 + sep + "weight_scale", DType::kF8E4M3, {E, H, I / 16}, s2);
    w.add_owned(w2 + sep + "weight_scale_2", DType::kF32, {E}, bytes_of(g2.data(), g2.size() * 4));
    add_bias(w13, {E, 2 * I}, b13);
    add_bias(w2, {E, H}, b2);
  }
  w.write(dir + "/model.safetensors");
  testing::write_json(dir + "/config.json", {{"model_type", "mixtral"},
                                             {"hidden_size", H},
                                             {"intermediate_size", I},
                                             {"num_local_experts", E},
                                             {"num_experts_per_tok", c.top_k},
                                             {"hidden_act", "silu"}});
  testing::write_json(
      dir + "/hf_quant_config.json",
      {{"quantization", {{"quant_algo", "NVFP4"}, {"group_size", 16}, {"exclude_modules", {"lm_head"}}}}});
}

class NamingVariant : public ::testing::TestWithParam<Naming> {};

// The loaded layer must compute exactly what the same weights loaded directly compute: same
// bytes, same scale_2 for gate and for up (each its own), so the outputs are bit-identical.
TEST_P(NamingVariant, LoadsTheSameWeightsAsADirectLoad) {
  TempDir dir;
  const MoeConfig c = synthetic_config();
  const RandomExperts experts(c, 11);
  write_synthetic(dir.path(), c, experts, GetParam());
  const MoeCheckpoint ckpt(dir.path());
  ASSERT_EQ(ckpt.moe_layers().size(), 1u);
  const MoeLayerTensors& t = ckpt.moe_layer(2);
  EXPECT_TRUE(t.problem.empty()) << t.problem;
  EXPECT_EQ(t.num_experts, c.num_experts);
  EXPECT_EQ(t.hidden, c.hidden);
  EXPECT_EQ(t.intermediate, c.intermediate);
  EXPECT_TRUE(t.nvfp4);

  EXPECT_FALSE(t.has_biases());
  for (int e = 0; e < c.num_experts; ++e) {
    const CheckpointExpert loaded = expert_weights(ckpt, 2, e);
    const ExpertWeightsView& v = loaded.view;
    for (const Nvfp4WeightView* p : {&v.gate, &v.up, &v.down}) EXPECT_EQ(p->bias, nullptr);
    const auto& x = experts.expert(e);
    EXPECT_EQ(v.gate.scale_2, x.gate.scale_2);
    EXPECT_EQ(v.up.scale_2, x.up.scale_2);
    EXPECT_EQ(v.down.scale_2, x.down.scale_2);
    ASSERT_NE(v.gate.scale_2, v.up.scale_2) << "the generator must give gate and up different scales";
    EXPECT_EQ(std::memcmp(v.gate.packed, x.gate.packed.data(), x.gate.packed.size()), 0);
    EXPECT_EQ(std::memcmp(v.up.packed, x.up.packed.data(), x.up.packed.size()), 0);
    EXPECT_EQ(std::memcmp(v.up.scales, x.up.scales.data(), x.up.scales.size()), 0);
    EXPECT_EQ(std::memcmp(v.down.scales, x.down.scales.data(), x.down.scales.size()), 0);
    // No copy: every view points into the file mapping.
    const SafetensorsFile& f = ckpt.tensors().files().front();
    for (const uint8_t* p : {v.gate.packed, v.up.packed, v.down.packed, v.gate.scales, v.up.scales, v.down.scales}) {
      EXPECT_GE(p, f.mapping());
      EXPECT_LT(p, f.mapping() + f.mapping_size());
    }
  }

  const MoeConfig loaded_config = ckpt.moe_config(2, QuantMode::kW4A16, c.max_tokens);
  auto loaded = make_moe_layer(loaded_config, Backend::kCpu);
  int calls = 0;
  load_moe_layer(ckpt, 2, *loaded, [&](int done, int total) {
    ++calls;
    EXPECT_EQ(done, calls);
    EXPECT_EQ(total, c.num_experts);
  });
  EXPECT_EQ(calls, c.num_experts);
  auto direct = make_moe_layer(c, Backend::kCpu);
  experts.load_into(*direct);

  testing::Rng rng(5);
  const auto x = testing::random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const auto routing = testing::uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  std::vector<bf16> y_loaded;
  ASSERT_NO_FATAL_FAILURE(expect_loaded_equals_direct(*loaded, *direct, x, routing, y_loaded));
  const double err = testing::rel_error(y_loaded, testing::run_reference(*loaded, x, routing));
  std::printf("naming %d: rel error vs float64 reference %.3e\n", int(GetParam()), err);
  EXPECT_LT(err, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, NamingVariant,
                         ::testing::Values(Naming::kGateProj, Naming::kW123, Naming::kPerExpertGateUp,
                                           Naming::kFusedLayer, Naming::kFusedVllm));

// ---- expert biases ----

struct BiasCase {
  Naming naming;
  DType dtype;
  char separator;
  std::array<bool, 3> which;  // gate, up, down
  const char* down_bias_of_expert_1;  // the name the layout must give it
};

std::ostream& operator<<(std::ostream& os, const BiasCase& b) { return os << b.down_bias_of_expert_1; }

class BiasVariant : public ::testing::TestWithParam<BiasCase> {};

// With biases, the loaded layer must still compute exactly what the same weights and biases loaded
// directly compute; the biases are read exactly (k/256 values in every dtype) and owned by the
// CheckpointExpert, and a layer without them computes something else (so they are really added:
// this part needs the CPU backend's bias support).
TEST_P(BiasVariant, LoadsTheSameWeightsAndBiasesAsADirectLoad) {
  const BiasCase& bc = GetParam();
  TempDir dir;
  const MoeConfig c = synthetic_config();
  const RandomExperts experts(c, 11);
  const SyntheticBiases biases = random_biases(c, 12, bc.which, bc.dtype, bc.separator);
  write_synthetic(dir.path(), c, experts, bc.naming, &biases);
  const MoeCheckpoint ckpt(dir.path());
  const MoeLayerTensors& t = ckpt.moe_layer(2);
  ASSERT_TRUE(t.problem.empty()) << t.problem;
  EXPECT_EQ(t.separator, bc.naming == Naming::kFusedVllm ? '_' : '.') << "a bias's separator is not the weights'";
  for (int p = 0; p < 3; ++p) EXPECT_EQ(t.has_bias(ExpertProjection(p)), bc.which[size_t(p)]) << p;
  if (bc.which[2]) EXPECT_EQ(t.bias_name(ExpertProjection::kDown, 1), bc.down_bias_of_expert_1);

  for (int e = 0; e < c.num_experts; ++e) {
    CheckpointExpert loaded = expert_weights(ckpt, 2, e);
    const Nvfp4WeightView* views[3] = {&loaded.view.gate, &loaded.view.up, &loaded.view.down};
    for (size_t p = 0; p < 3; ++p) {
      const std::vector<float>& want = biases.values[size_t(e)][p];
      if (want.empty()) {
        EXPECT_EQ(views[p]->bias, nullptr) << e << " " << p;
        continue;
      }
      ASSERT_EQ(views[p]->bias, loaded.bias[p].data()) << "the view's bias is the expert's own copy";
      EXPECT_EQ(std::memcmp(views[p]->bias, want.data(), want.size() * 4), 0) << e << " " << p;
    }
    const CheckpointExpert moved = std::move(loaded);
    const Nvfp4WeightView* moved_views[3] = {&moved.view.gate, &moved.view.up, &moved.view.down};
    for (size_t p = 0; p < 3; ++p)
      EXPECT_EQ(moved_views[p]->bias, moved.bias[p].empty() ? nullptr : moved.bias[p].data()) << "moved";
  }

  auto loaded = make_moe_layer(ckpt.moe_config(2, QuantMode::kW4A16, c.max_tokens), Backend::kCpu);
  load_moe_layer(ckpt, 2, *loaded);
  auto direct = make_moe_layer(c, Backend::kCpu);
  auto unbiased = make_moe_layer(c, Backend::kCpu);
  for (int e = 0; e < c.num_experts; ++e) {
    testing::OwnedExpertView v = experts.view(e);
    unbiased->load_expert(e, v.view);
    const auto& b = biases.values[size_t(e)];
    Nvfp4WeightView* views[3] = {&v.view.gate, &v.view.up, &v.view.down};
    for (size_t p = 0; p < 3; ++p) views[p]->bias = b[p].empty() ? nullptr : b[p].data();
    direct->load_expert(e, v.view);
  }
  testing::Rng rng(5);
  const auto x = testing::random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const auto routing = testing::uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  std::vector<bf16> y_loaded;
  ASSERT_NO_FATAL_FAILURE(expect_loaded_equals_direct(*loaded, *direct, x, routing, y_loaded));
  const auto y_unbiased = testing::run_forward(*unbiased, x, routing);
  EXPECT_NE(std::memcmp(y_loaded.data(), y_unbiased.data(), y_loaded.size() * sizeof(bf16)), 0)
      << "the biases must change the output (CPU backend bias support)";
  const double err = testing::rel_error(y_loaded, testing::run_reference(*loaded, x, routing));
  std::printf("%s: rel error vs float64 reference %.3e\n", bc.down_bias_of_expert_1, err);
  EXPECT_LT(err, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(
    Checkpoint, BiasVariant,
    ::testing::Values(
        BiasCase{Naming::kGateProj, DType::kBF16, '.', {true, true, true},
                 "model.layers.2.mlp.experts.1.down_proj.bias"},
        BiasCase{Naming::kW123, DType::kF16, '_', {true, true, true}, "model.layers.2.mlp.experts.1.w2_bias"},
        BiasCase{Naming::kPerExpertGateUp, DType::kF32, '.', {true, true, true},
                 "model.layers.2.mlp.experts.1.down_proj.bias"},
        // gpt-oss: experts.gate_up_proj_bias next to experts.gate_up_proj.weight.
        BiasCase{Naming::kFusedLayer, DType::kBF16, '_', {true, true, true},
                 "model.layers.2.mlp.experts.down_proj_bias"},
        BiasCase{Naming::kFusedVllm, DType::kF32, '_', {true, true, true}, "model.layers.2.mlp.experts.w2_bias"},
        // Some projections only.
        BiasCase{Naming::kFusedLayer, DType::kF16, '.', {false, false, true},
                 "model.layers.2.mlp.experts.down_proj.bias"},
        BiasCase{Naming::kGateProj, DType::kF32, '.', {true, false, false}, "gate only"},
        BiasCase{Naming::kW123, DType::kBF16, '.', {false, true, true}, "model.layers.2.mlp.experts.1.w2.bias"}));

// Averaging gate and up weight_scale_2 (what vLLM does) would change the output far beyond the
// spec's bound, so the bit-identity above really tests that each half keeps its own scale.
TEST(ModelOptLoader, AveragedGateUpScalesWouldBeCaught) {
  const MoeConfig c = synthetic_config();
  const RandomExperts experts(c, 11);
  auto exact = make_moe_layer(c, Backend::kCpu);
  auto averaged = make_moe_layer(c, Backend::kCpu);
  experts.load_into(*exact);
  for (int e = 0; e < c.num_experts; ++e) {
    auto v = experts.view(e).view;
    const float mean = 0.5f * (v.gate.scale_2 + v.up.scale_2);
    v.gate.scale_2 = v.up.scale_2 = mean;
    averaged->load_expert(e, v);
  }
  testing::Rng rng(5);
  const auto x = testing::random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const auto routing = testing::uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  const double err =
      testing::rel_error(testing::run_forward(*averaged, x, routing), testing::run_reference(*exact, x, routing));
  std::printf("averaged gate/up scale_2: rel error %.3e\n", err);
  EXPECT_GT(err, 2e-2) << "averaging must break the spec bound of 1e-2 by a clear margin";
}

TEST(ModelOptLoader, TinyCheckpointLoadsAndMatchesTheReference) {
  const MoeCheckpoint ckpt(kTiny);
  EXPECT_EQ(ckpt.model().model_type, "qwen3_moe");
  EXPECT_EQ(ckpt.model().quant_algo, "NVFP4");
  EXPECT_EQ(ckpt.model().group_size, 16);
  EXPECT_EQ(ckpt.model().routing.method, RoutingMethod::kSoftmaxTopk);
  EXPECT_TRUE(ckpt.model().routing.renormalize);
  ASSERT_EQ(ckpt.moe_layers().size(), 1u) << "layer 0 is a dense MLP and must not be taken for a MoE";
  const MoeLayerTensors& t = ckpt.moe_layer(testing::kTinyMoeLayer);
  EXPECT_EQ(t.num_experts, testing::kTinyExperts);
  EXPECT_EQ(t.hidden, testing::kTinyHidden);
  EXPECT_EQ(t.intermediate, testing::kTinyIntermediate);
  EXPECT_TRUE(t.has_input_scale);
  EXPECT_EQ(t.router_weight, "model.layers.1.mlp.gate.weight");
  EXPECT_EQ(t.num_tensors, testing::kTinyExperts * 3 * 4);

  const InputScales s = input_scales(ckpt, 1, 0, testing::kTinyExperts);
  EXPECT_GT(s.gemm1, 0.0f);
  EXPECT_GT(s.gemm2, 0.0f);
  for (int e = 0; e < testing::kTinyExperts; ++e) {
    const ExpertWeightsView v = expert_weights(ckpt, 1, e).view;
    EXPECT_GT(v.up.scale_2, 2.0f * v.gate.scale_2) << "up was generated 4x wider than gate";
  }
  const RouterWeights r = read_router(ckpt, 1);
  EXPECT_TRUE(r.present);
  EXPECT_EQ(r.weight.size(), size_t(testing::kTinyExperts * testing::kTinyHidden));

  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    const double err = testing::loaded_layer_error(ckpt, 1, mode);
    std::printf("tiny checkpoint %s: rel error %.3e\n", std::string(to_string(mode)).c_str(), err);
    EXPECT_LT(err, 1e-2);
  }
}

// gpt-oss's router is a Linear with a bias: its logits are weight x + bias, so the bias is read with
// the weight (finite, one per expert) and a non-finite one is rejected naming the tensor.
TEST(ModelOptLoader, RouterLinearBias) {
  TempDir dir;
  const testing::GptOssExperts x = testing::make_gpt_oss_experts(3);
  testing::write_gpt_oss_checkpoint(dir.path(), x, testing::GptOssLayout::kFused);
  const MoeCheckpoint ckpt(dir.path());
  const MoeLayerTensors& t = ckpt.moe_layer(0);
  EXPECT_EQ(t.router_weight, "model.layers.0.mlp.router.weight");
  EXPECT_EQ(t.router_linear_bias, "model.layers.0.mlp.router.bias");
  EXPECT_TRUE(t.router_bias.empty());
  const RouterWeights r = read_router(ckpt, 0);
  ASSERT_EQ(r.linear_bias.size(), size_t(x.experts));
  EXPECT_TRUE(r.bias.empty());
  const TensorView b = ckpt.tensors().tensor(t.router_linear_bias);
  for (int e = 0; e < x.experts; ++e) {
    bf16 v;
    std::memcpy(&v.bits, b.data + 2 * e, 2);
    EXPECT_EQ(r.linear_bias[size_t(e)], bf16_to_float(v)) << e;
  }

  // The same checkpoint with the bias's second value a NaN (BF16 0x7FC0).
  const std::string file = dir.path() + "/model.safetensors";
  std::vector<char> bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = size_t(b.data - ckpt.tensors().files().front().mapping()) + 2;
  TempDir bad_dir;
  std::filesystem::copy(dir.path(), bad_dir.path() + "/c", std::filesystem::copy_options::recursive);
  bytes[at] = char(0xC0);
  bytes[at + 1] = char(0x7F);
  std::ofstream(bad_dir.path() + "/c/model.safetensors", std::ios::binary)
      .write(bytes.data(), std::streamsize(bytes.size()));
  const MoeCheckpoint bad(bad_dir.path() + "/c");
  expect_error([&] { read_router(bad, 0); },
               "tensor 'model.layers.0.mlp.router.bias': expected finite values, got nan at [1]");
}

TEST(ModelOptLoader, ExpertParallelLoadsOnlyTheLocalRange) {
  TempDir dir;
  const MoeConfig c = synthetic_config();
  const RandomExperts all(c, 11);
  write_synthetic(dir.path(), c, all, Naming::kGateProj);
  const MoeCheckpoint ckpt(dir.path());
  MoeConfig local = ckpt.moe_config(2, QuantMode::kW4A16, c.max_tokens);
  local.local_expert_start = 2;
  local.local_experts = 3;
  auto layer = make_moe_layer(local, Backend::kCpu);
  load_moe_layer(ckpt, 2, *layer);
  auto direct = make_moe_layer(local, Backend::kCpu);
  for (int e = 0; e < 3; ++e) direct->load_expert(e, all.view(2 + e).view);
  testing::Rng rng(3);
  const auto x = testing::random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const auto routing = testing::uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  const auto a = testing::run_forward(*layer, x, routing), b = testing::run_forward(*direct, x, routing);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(bf16)), 0);
}

// ---- tensor parallelism ----

class TensorParallelVariant : public ::testing::TestWithParam<Naming> {};

// A rank's layer loaded from the checkpoint computes bit for bit what shard_expert gives it from the
// same experts loaded directly (biases on every projection, down's on rank 0 only; a fused gate_up's
// bias sliced per half), with expert parallelism on top.
TEST_P(TensorParallelVariant, RanksLoadWhatShardExpertGives) {
  TempDir dir;
  const MoeConfig c = testing::make_config(5, 32, 96, 2, 16);  // 96 = 2 x 48 = 3 x 32 = 6 x 16
  const RandomExperts experts(c, 21);
  const SyntheticBiases biases = random_biases(c, 22, {true, true, true}, DType::kF32, '.');
  write_synthetic(dir.path(), c, experts, GetParam(), &biases);
  const MoeCheckpoint ckpt(dir.path());
  ASSERT_TRUE(ckpt.moe_layer(2).problem.empty()) << ckpt.moe_layer(2).problem;

  testing::Rng rng(9);
  const auto x = testing::random_bf16(size_t(c.max_tokens) * c.hidden, rng);
  const auto routing = testing::uniform_routing(c.max_tokens, c.num_experts, c.top_k, rng);
  for (int size : {2, 3, 6}) {
    for (int rank = 0; rank < size; ++rank) {
      const TensorParallelShard shard{rank, size};
      MoeConfig local = ckpt.moe_config(2, QuantMode::kW4A16, c.max_tokens, shard);
      ASSERT_EQ(local.intermediate, c.intermediate / size);
      local.local_expert_start = 1;
      local.local_experts = 3;
      auto loaded = make_moe_layer(local, Backend::kCpu);
      load_moe_layer(ckpt, 2, *loaded, shard);
      auto direct = make_moe_layer(local, Backend::kCpu);
      for (int e = 0; e < 3; ++e) {
        testing::OwnedExpertView v = experts.view(1 + e);
        const auto& b = biases.values[size_t(1 + e)];
        v.view.gate.bias = b[0].data();
        v.view.up.bias = b[1].data();
        v.view.down.bias = b[2].data();
        direct->load_expert(e, shard_expert(v.view, c.hidden, c.intermediate, shard).view);
      }
      std::vector<bf16> y;
      ASSERT_NO_FATAL_FAILURE(expect_loaded_equals_direct(*loaded, *direct, x, routing, y)) << rank << "/" << size;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, TensorParallelVariant,
                         ::testing::Values(Naming::kGateProj, Naming::kPerExpertGateUp, Naming::kFusedVllm));

TEST(ModelOptLoader, TensorParallelErrors) {
  TempDir dir;
  const MoeConfig c = testing::make_config(5, 32, 96, 2, 16);
  write_synthetic(dir.path(), c, RandomExperts(c, 21), Naming::kGateProj);
  const MoeCheckpoint ckpt(dir.path());
  expect_error([&] { ckpt.moe_config(2, QuantMode::kW4A16, 16, {0, 4}); },
               "MoeCheckpoint::moe_config: shard.size: expected a divisor of intermediate 96 leaving each rank a "
               "multiple of 16 (the NVFP4 block along down's K), got 4");
  expect_error([&] { ckpt.moe_config(2, QuantMode::kW4A16, 16, {2, 2}); }, "shard.rank: expected in [0, 2), got 2");
  // A layer of the whole intermediate given a shard, and a rank's layer given none.
  auto whole = make_moe_layer(ckpt.moe_config(2), Backend::kCpu);
  expect_error([&] { load_moe_layer(ckpt, 2, *whole, {1, 3}); },
               "load_moe_layer: layer config intermediate: expected 32 (layer 2 of " + dir.path() +
                   ", rank 1 of 3), got 96");
  auto rank = make_moe_layer(ckpt.moe_config(2, QuantMode::kW4A16, 1, {1, 3}), Backend::kCpu);
  expect_error([&] { load_moe_layer(ckpt, 2, *rank); },
               "expected 96 (layer 2 of " + dir.path() +
                   "; a tensor-parallel shard is loaded with its TensorParallelShard), got 32");
}

// A layer that records load_expert calls, to prove a bad checkpoint loads nothing.
class RecordingLayer : public MoeLayer {
 public:
  explicit RecordingLayer(const MoeConfig& c) : MoeLayer(c) {}
  Backend backend() const override { return Backend::kCpu; }
  void load_expert(int, const ExpertWeightsView&) override { ++loads; }
  void set_input_scales(float, float) override {}
  size_t workspace_bytes(int) const override { return 0; }
  void forward(const ForwardArgs&, void*, size_t, void*) override {}
  int loads = 0;
};

// Rewrites the safetensors file `path` with tensor `name` replaced (added when absent, dropped when
// dtype is null).
void replace_tensor(const std::string& path, const std::string& name, const DType* dtype, std::vector<int64_t> shape,
                    std::vector<uint8_t> data) {
  std::vector<std::pair<TensorInfo, std::vector<uint8_t>>> tensors;
  {
    const SafetensorsFile f(path);
    for (const auto& info : f.header().tensors) {
      const TensorView v = f.tensor(info);
      tensors.push_back({info, std::vector<uint8_t>(v.data, v.data + info.bytes())});
    }
  }
  SafetensorsWriter w;
  bool found = false;
  for (auto& [info, bytes] : tensors) {
    found |= info.name == name;
    if (info.name != name)
      w.add_owned(info.name, info.dtype, info.shape, bytes);
    else if (dtype)
      w.add_owned(name, *dtype, shape, data);
  }
  if (!found && dtype) w.add_owned(name, *dtype, shape, data);
  w.write(path);
}

class BrokenCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override { write_synthetic(dir_.path(), config_, experts_, Naming::kGateProj); }
  void replace(const std::string& name, const DType* dtype, std::vector<int64_t> shape, std::vector<uint8_t> data) {
    replace_tensor(dir_.file("model.safetensors"), name, dtype, std::move(shape), std::move(data));
  }
  void expect_load_error(const std::string& message) {
    const MoeCheckpoint ckpt(dir_.path());
    RecordingLayer layer(config_);
    expect_error([&] { load_moe_layer(ckpt, 2, layer); }, message);
    EXPECT_EQ(layer.loads, 0) << "validation must come before the first load_expert";
  }
  TempDir dir_;
  MoeConfig config_ = synthetic_config();
  RandomExperts experts_{config_, 11};
  std::string file_ = dir_.file("model.safetensors");
};

TEST_F(BrokenCheckpoint, MissingTensorOfTheLastExpert) {
  replace("model.layers.2.mlp.experts.5.up_proj.weight_scale", nullptr, {}, {});
  expect_load_error("fp4moe: checkpoint " + dir_.path() +
                    ": tensor 'model.layers.2.mlp.experts.5.up_proj.weight_scale': expected present, got missing");
}

TEST_F(BrokenCheckpoint, WrongWeightShape) {
  const DType u8 = DType::kU8;
  replace("model.layers.2.mlp.experts.4.down_proj.weight", &u8, {64, 16}, std::vector<uint8_t>(64 * 16));
  expect_load_error("fp4moe: safetensors " + file_ +
                    ": tensor 'model.layers.2.mlp.experts.4.down_proj.weight': "
                    "expected U8 [64, 24], got U8 [64, 16]");
}

TEST_F(BrokenCheckpoint, WrongScaleDtype) {
  const DType u8 = DType::kU8;
  replace("model.layers.2.mlp.experts.3.gate_proj.weight_scale", &u8, {48, 4}, std::vector<uint8_t>(48 * 4, 0x38));
  expect_load_error(
      "tensor 'model.layers.2.mlp.experts.3.gate_proj.weight_scale': expected F8_E4M3 [48, 4], got U8 [48, 4]");
}

TEST_F(BrokenCheckpoint, NonPositiveOrNanScale2) {
  const DType f32 = DType::kF32;
  const float bad[2] = {-1.0f, NAN};
  replace("model.layers.2.mlp.experts.1.up_proj.weight_scale_2", &f32, {}, bytes_of(&bad[0], 4));
  expect_load_error(
      "tensor 'model.layers.2.mlp.experts.1.up_proj.weight_scale_2': expected a finite positive scale, got -1");
  replace("model.layers.2.mlp.experts.1.up_proj.weight_scale_2", &f32, {}, bytes_of(&bad[1], 4));
  expect_load_error("expected a finite positive scale, got nan");
  replace("model.layers.2.mlp.experts.1.up_proj.weight_scale_2", &f32, {3}, std::vector<uint8_t>(12));
  expect_load_error("expected F32 with 1 element, got F32 [3]");
}

// A NaN or negative E4M3 block scale in the last expert is named with its tensor and element before
// any expert is loaded (the layers' own check would only say "expert 5 down").
TEST_F(BrokenCheckpoint, NanOrNegativeBlockScale) {
  const DType e4m3 = DType::kF8E4M3;
  const std::string name = "model.layers.2.mlp.experts.5.down_proj.weight_scale";
  std::vector<uint8_t> scales(64 * 3, 0x38);  // [H, I/16] of 1.0
  scales[10 * 3 + 2] = 0x7F;                  // NaN
  replace(name, &e4m3, {64, 3}, scales);
  expect_load_error("fp4moe: safetensors " + file_ + ": tensor '" + name +
                    "': expected E4M3 block scales >= 0 and not NaN, got 0x7F at [10, 2]");
  scales[10 * 3 + 2] = 0x38;
  scales[0] = 0x80;  // -0: a set sign bit is rejected as well
  replace(name, &e4m3, {64, 3}, scales);
  expect_load_error("tensor '" + name + "': expected E4M3 block scales >= 0 and not NaN, got 0x80 at [0, 0]");
}

TEST_F(BrokenCheckpoint, ConfigDisagreeingWithTensors) {
  testing::write_json(dir_.file("config.json"), {{"model_type", "mixtral"},
                                                 {"hidden_size", 64},
                                                 {"intermediate_size", 96},
                                                 {"num_local_experts", 6},
                                                 {"num_experts_per_tok", 2}});
  const MoeCheckpoint ckpt(dir_.path());
  expect_error([&] { ckpt.moe_config(2); },
               "config.json: moe_intermediate_size: expected 48 as the tensors of layer 2 say "
               "(model.layers.2.mlp.experts.0.gate_proj.weight), got 96");
}

TEST_F(BrokenCheckpoint, LayerConfigMismatchAndUnknownLayer) {
  const MoeCheckpoint ckpt(dir_.path());
  MoeConfig other = config_;
  other.hidden = 32;
  RecordingLayer layer(other);
  expect_error([&] { load_moe_layer(ckpt, 2, layer); }, "load_moe_layer: layer config hidden: expected 64");
  expect_error([&] { ckpt.moe_layer(7); }, "layer: expected one of the MoE layers: 2, got 7");
}

// The same checkpoint with a BF16 bias on every projection of every expert.
class BrokenBiases : public BrokenCheckpoint {
 protected:
  void SetUp() override {
    const SyntheticBiases biases = random_biases(config_, 12, {true, true, true}, DType::kBF16, '.');
    write_synthetic(dir_.path(), config_, experts_, Naming::kGateProj, &biases);
  }
  const std::string prefix_ = "model.layers.2.mlp.experts.";
};

TEST_F(BrokenBiases, WrongShapeOrDtype) {
  const DType bf16_type = DType::kBF16, i32 = DType::kI32, f8 = DType::kF8E4M3;
  const std::string name = prefix_ + "3.up_proj.bias";
  replace(name, &bf16_type, {47}, std::vector<uint8_t>(47 * 2));
  expect_load_error("fp4moe: safetensors " + file_ + ": tensor '" + name +
                    "': expected BF16, F16 or F32 [48], got BF16 [47]");
  replace(name, &bf16_type, {1, 48}, std::vector<uint8_t>(48 * 2));
  expect_load_error("tensor '" + name + "': expected BF16, F16 or F32 [48], got BF16 [1, 48]");
  replace(name, &i32, {48}, std::vector<uint8_t>(48 * 4));
  expect_load_error("tensor '" + name + "': expected BF16, F16 or F32 [48], got I32 [48]");
  replace(prefix_ + "1.down_proj.bias", &f8, {64}, std::vector<uint8_t>(64));  // expert 1 is checked before 3
  expect_load_error("tensor '" + prefix_ + "1.down_proj.bias': expected BF16, F16 or F32 [64], got F8_E4M3 [64]");
}

TEST_F(BrokenBiases, NanOrInfBias) {
  const DType bf16_type = DType::kBF16, f32 = DType::kF32;
  const std::string name = prefix_ + "5.down_proj.bias";
  std::vector<uint8_t> bf16_bytes(64 * 2, 0);
  bf16_bytes[7 * 2 + 1] = 0x7F, bf16_bytes[7 * 2] = 0xC0;  // BF16 NaN at row 7
  replace(name, &bf16_type, {64}, bf16_bytes);
  expect_load_error("fp4moe: safetensors " + file_ + ": tensor '" + name + "': expected finite biases, got nan at [7]");
  std::vector<float> values(48, 0.25f);
  values[47] = -INFINITY;
  replace(prefix_ + "0.gate_proj.bias", &f32, {48}, bytes_of(values.data(), values.size() * 4));
  expect_load_error("tensor '" + prefix_ + "0.gate_proj.bias': expected finite biases, got -inf at [47]");
}

TEST_F(BrokenBiases, BiasOnSomeExpertsOnly) {
  replace(prefix_ + "4.gate_proj.bias", nullptr, {}, {});
  expect_load_error("fp4moe: checkpoint " + dir_.path() + ": tensor '" + prefix_ +
                    "4.gate_proj.bias': expected present (other experts of layer 2 have this bias: a projection has "
                    "a bias on every expert or on none), got missing");
  // Expert 0 lacking it: the first expert validated is the one named.
  for (int e = 0; e < 6; ++e) replace(prefix_ + std::to_string(e) + ".up_proj.bias", nullptr, {}, {});
  const DType bf16_type = DType::kBF16;
  replace(prefix_ + "5.up_proj.bias", &bf16_type, {48}, std::vector<uint8_t>(48 * 2));
  expect_load_error("tensor '" + prefix_ + "0.up_proj.bias': expected present");
}

TEST_F(BrokenBiases, TwoSpellingsOrAnUnknownProjection) {
  const DType bf16_type = DType::kBF16;
  replace(prefix_ + "2.down_proj_bias", &bf16_type, {64}, std::vector<uint8_t>(64 * 2));
  expect_load_error("layer 2 experts: expected a loadable MoE layer, got two biases of down_proj (down_proj.bias and "
                    "down_proj_bias)");
  replace(prefix_ + "2.down_proj_bias", nullptr, {}, {});
  replace(prefix_ + "2.out_proj.bias", &bf16_type, {64}, std::vector<uint8_t>(64 * 2));
  expect_load_error(
      "got bias of out_proj, which is not one of the layer's projections (gate_proj, up_proj, down_proj)");
  const MoeCheckpoint ckpt(dir_.path());
  EXPECT_NE(ckpt.moe_layer(2).problem, "") << "inspect reports it too";
}

// gpt-oss's fused [E, 2I] and [E, H] biases: the shape covers every expert, and a NaN is named by
// expert and row.
TEST(ModelOptLoader, FusedBiasErrors) {
  TempDir dir;
  const MoeConfig c = synthetic_config();
  const RandomExperts experts(c, 11);
  const SyntheticBiases biases = random_biases(c, 12, {true, true, true}, DType::kBF16, '_');
  write_synthetic(dir.path(), c, experts, Naming::kFusedLayer, &biases);
  const std::string file = dir.file("model.safetensors"), name = "model.layers.2.mlp.experts.gate_up_proj_bias";
  const auto expect_load_error = [&](const std::string& message) {
    const MoeCheckpoint ckpt(dir.path());
    RecordingLayer layer(c);
    expect_error([&] { load_moe_layer(ckpt, 2, layer); }, message);
    EXPECT_EQ(layer.loads, 0) << "validation must come before the first load_expert";
  };
  const DType bf16_type = DType::kBF16;
  replace_tensor(file, name, &bf16_type, {5, 96}, std::vector<uint8_t>(5 * 96 * 2));
  expect_load_error("fp4moe: safetensors " + file + ": tensor '" + name +
                    "': expected BF16, F16 or F32 [6, 96], got BF16 [5, 96]");
  replace_tensor(file, name, &bf16_type, {6, 48}, std::vector<uint8_t>(6 * 48 * 2));
  expect_load_error("expected BF16, F16 or F32 [6, 96], got BF16 [6, 48]");
  std::vector<uint8_t> bytes(6 * 96 * 2, 0);
  bytes[(4 * 96 + 50) * 2 + 1] = 0x7F, bytes[(4 * 96 + 50) * 2] = 0x80;  // +Inf in expert 4's up half
  replace_tensor(file, name, &bf16_type, {6, 96}, bytes);
  expect_load_error("tensor '" + name + "': expected finite biases, got inf at [4, 50]");
}

// ---- config.json of the model families ----

MoeModelConfig config_of(const nlohmann::json& j) {
  TempDir dir;
  testing::write_json(dir.file("config.json"), j);
  return read_model_config(dir.path());
}

TEST(ModelConfig, DeepSeekV3) {
  const auto c = config_of({{"model_type", "deepseek_v3"},
                            {"hidden_size", 7168},
                            {"intermediate_size", 18432},
                            {"moe_intermediate_size", 2048},
                            {"n_routed_experts", 256},
                            {"num_experts_per_tok", 8},
                            {"n_group", 8},
                            {"topk_group", 4},
                            {"routed_scaling_factor", 2.5},
                            {"hidden_act", "silu"},
                            {"scoring_func", "sigmoid"},
                            {"norm_topk_prob", true}});
  EXPECT_EQ(c.num_experts, 256);
  EXPECT_EQ(c.intermediate, 2048);
  EXPECT_EQ(c.top_k, 8);
  EXPECT_EQ(c.activation.kind, Activation::kSilu);
  EXPECT_EQ(c.routing.method, RoutingMethod::kSigmoidGroupedTopk);
  EXPECT_EQ(c.routing.num_groups, 8);
  EXPECT_EQ(c.routing.topk_group, 4);
  EXPECT_EQ(c.routing.routed_scaling_factor, 2.5f);
}

TEST(ModelConfig, DeepSeekV4SwigluLimitGivesClampedSilu) {
  const auto c = config_of({{"model_type", "deepseek_v4"},
                            {"hidden_size", 4096},
                            {"moe_intermediate_size", 2048},
                            {"n_routed_experts", 64},
                            {"num_experts_per_tok", 6},
                            {"swiglu_limit", 10.0}});
  EXPECT_EQ(c.activation.kind, Activation::kSiluClamped);
  EXPECT_EQ(c.activation.limit, 10.0f);
}

// Routers by scoring_func first, family second; the ones route() cannot compute exactly are marked
// with the reason rather than routed as something else.
TEST(ModelConfig, RoutersByScoringFunction) {
  const nlohmann::json base = {{"hidden_size", 2048}, {"moe_intermediate_size", 1408}, {"n_routed_experts", 64},
                               {"num_experts_per_tok", 6}};
  const auto with = [&](nlohmann::json extra) {
    nlohmann::json j = base;
    j.update(extra);
    return config_of(j);
  };
  // DeepSeek-V2-Lite: softmax, greedy, not renormalized.
  const auto v2_lite = with({{"model_type", "deepseek_v2"}, {"scoring_func", "softmax"}, {"topk_method", "greedy"},
                             {"n_group", 1}, {"norm_topk_prob", false}, {"routed_scaling_factor", 1.0}});
  EXPECT_TRUE(v2_lite.routing_known);
  EXPECT_EQ(v2_lite.routing.method, RoutingMethod::kSoftmaxTopk);
  EXPECT_FALSE(v2_lite.routing.renormalize);
  // DeepSeek-V2: softmax chosen by groups, scaled by 16.
  const auto v2 = with({{"model_type", "deepseek_v2"}, {"scoring_func", "softmax"},
                        {"topk_method", "group_limited_greedy"}, {"n_group", 8}, {"topk_group", 3},
                        {"routed_scaling_factor", 16.0}});
  EXPECT_FALSE(v2.routing_known);
  EXPECT_EQ(v2.routing_note, "softmax scores chosen by groups (DeepSeek-V2's topk_method group_limited_greedy), "
                             "which fp4moe::route does not implement");
  // GLM-4.5: no scoring_func, sigmoid by family, with its correction bias and scale.
  const auto glm = with({{"model_type", "glm4_moe"}, {"n_group", 1}, {"topk_group", 1},
                         {"routed_scaling_factor", 2.5}, {"norm_topk_prob", true}});
  EXPECT_TRUE(glm.routing_known);
  EXPECT_EQ(glm.routing.method, RoutingMethod::kSigmoidGroupedTopk);
  EXPECT_EQ(glm.routing.routed_scaling_factor, 2.5f);
  const auto unnormalized = with({{"model_type", "glm4_moe"}, {"norm_topk_prob", false}});
  EXPECT_FALSE(unnormalized.routing_known);
  const auto scaled = with({{"model_type", "qwen2_moe"}, {"routed_scaling_factor", 2.0}});
  EXPECT_FALSE(scaled.routing_known);
  const auto other = with({{"model_type", "qwen3_moe"}, {"scoring_func", "sqrtsoftplus"}});
  EXPECT_EQ(other.routing_note, "scoring_func 'sqrtsoftplus', which fp4moe::route does not implement");
}

TEST(ModelConfig, GptOssAndQwenAndLlama4) {
  const auto oss = config_of({{"model_type", "gpt_oss"},
                              {"hidden_size", 2880},
                              {"intermediate_size", 2880},
                              {"num_local_experts", 32},
                              {"num_experts_per_tok", 4},
                              {"swiglu_limit", 7.0}});
  EXPECT_EQ(oss.activation.kind, Activation::kSwigluOai);
  EXPECT_EQ(oss.routing.method, RoutingMethod::kTopkSoftmax);
  const auto qwen = config_of({{"model_type", "qwen3_moe"},
                               {"hidden_size", 2048},
                               {"intermediate_size", 6144},
                               {"moe_intermediate_size", 768},
                               {"num_experts", 128},
                               {"num_experts_per_tok", 8},
                               {"norm_topk_prob", false}});
  EXPECT_EQ(qwen.intermediate, 768);
  EXPECT_EQ(qwen.routing.method, RoutingMethod::kSoftmaxTopk);
  EXPECT_FALSE(qwen.routing.renormalize);
  const auto llama = config_of({{"model_type", "llama4"},
                                {"text_config",
                                 {{"model_type", "llama4_text"},
                                  {"hidden_size", 5120},
                                  {"intermediate_size", 8192},
                                  {"num_local_experts", 16},
                                  {"num_experts_per_tok", 1}}}});
  EXPECT_EQ(llama.hidden, 5120);
  EXPECT_EQ(llama.num_experts, 16);
  EXPECT_TRUE(llama.routing_known);
  EXPECT_EQ(llama.routing.method, RoutingMethod::kTopkSigmoid);
  EXPECT_TRUE(llama.router_weight_on_input);
  EXPECT_FALSE(qwen.router_weight_on_input);
}

// ---- compressed-tensors' NVFP4 ----

// The committed tiny checkpoint rewritten as compressed-tensors writes NVFP4 (llm-compressor's
// "nvfp4-pack-quantized"): weight -> weight_packed, weight_scale_2 and input_scale -> their inverses
// as weight_global_scale and input_global_scale ([1], as it stores them), the recipe in config.json's
// quantization_config, no hf_quant_config.json. `edit` may change a tensor's bytes on the way.
void write_compressed_tensors_twin(const std::string& dir,
                                   const std::function<void(const std::string&, std::vector<uint8_t>&)>& edit = {}) {
  const SafetensorsCheckpoint tiny(kTiny);
  SafetensorsWriter w;
  const auto rename = [](const std::string& name, const std::string& from, const std::string& to) {
    return name.size() > from.size() && name.compare(name.size() - from.size(), from.size(), from) == 0
               ? name.substr(0, name.size() - from.size()) + to
               : std::string();
  };
  for (const std::string& name : tiny.tensor_names()) {
    const TensorView v = tiny.tensor(name);
    std::vector<uint8_t> bytes(v.data, v.data + v.info->bytes());
    std::string out = name;
    std::vector<int64_t> shape = v.info->shape;
    const bool expert = name.find(".experts.") != std::string::npos;
    if (const std::string s = rename(name, ".weight_scale_2", ".weight_global_scale"); expert && !s.empty()) {
      out = s;
    } else if (const std::string i = rename(name, ".input_scale", ".input_global_scale"); expert && !i.empty()) {
      out = i;
    } else if (const std::string p = rename(name, ".weight", ".weight_packed"); expert && !p.empty()) {
      out = p;
    }
    if (out != name && out.find("global_scale") != std::string::npos) {
      float value;
      std::memcpy(&value, bytes.data(), 4);
      value = 1.0f / value;
      std::memcpy(bytes.data(), &value, 4);
      shape = {1};
    }
    if (edit) edit(out, bytes);
    w.add_owned(out, v.info->dtype, shape, std::move(bytes));
  }
  w.write(dir + "/model.safetensors");
  std::ifstream in(kTiny + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config["quantization_config"] = {
      {"quant_method", "compressed-tensors"},
      {"format", "nvfp4-pack-quantized"},
      {"config_groups",
       {{"group_0",
         {{"targets", {"Linear"}},
          {"weights", {{"num_bits", 4}, {"type", "float"}, {"strategy", "tensor_group"}, {"group_size", 16}}},
          {"input_activations",
           {{"num_bits", 4}, {"type", "float"}, {"strategy", "tensor_group"}, {"group_size", 16}}}}}}},
      {"ignore", {"lm_head", "model.layers.1.mlp.gate"}}};
  testing::write_json(dir + "/config.json", config);
}

// A compressed-tensors layer is the ModelOpt one under other names: the same codes and block scales
// viewed in place, and each scale the FP32 inverse of the stored global scale (which need not round
// back to the twin's scale: one of the tiny checkpoint's does not). Its W4A4 forward equals, bit for
// bit, the twin's weights loaded with those scales, and the twin's float64 reference within the
// spec's bound.
TEST(CompressedTensors, LoadsAsItsModelOptTwin) {
  TempDir dir;
  write_compressed_tensors_twin(dir.path());
  const MoeCheckpoint ct(dir.path()), mo(kTiny);
  EXPECT_EQ(ct.model().quant_algo, "NVFP4");
  EXPECT_EQ(ct.model().quant_format, "compressed-tensors");
  EXPECT_EQ(mo.model().quant_format, "modelopt");
  EXPECT_EQ(ct.model().group_size, 16);
  EXPECT_EQ(ct.model().exclude_modules, (std::vector<std::string>{"lm_head", "model.layers.1.mlp.gate"}));
  const MoeLayerTensors& t = ct.moe_layer(1);
  ASSERT_TRUE(t.problem.empty()) << t.problem;
  EXPECT_TRUE(t.compressed_tensors);
  EXPECT_FALSE(mo.moe_layer(1).compressed_tensors);
  EXPECT_TRUE(t.nvfp4);
  EXPECT_TRUE(t.has_input_scale);
  EXPECT_EQ(t.tensor_name(ExpertProjection::kUp, 2, "weight"), "model.layers.1.mlp.experts.2.up_proj.weight_packed");
  EXPECT_EQ(t.tensor_name(ExpertProjection::kDown, 0, "weight_scale"),
            "model.layers.1.mlp.experts.0.down_proj.weight_scale");

  for (int e = 0; e < t.num_experts; ++e) {
    const CheckpointExpert a = expert_weights(ct, 1, e), b = expert_weights(mo, 1, e);
    const Nvfp4WeightView* va[3] = {&a.view.gate, &a.view.up, &a.view.down};
    const Nvfp4WeightView* vb[3] = {&b.view.gate, &b.view.up, &b.view.down};
    for (int p = 0; p < 3; ++p) {
      const int64_t rows = p == 2 ? t.hidden : t.intermediate, k = p == 2 ? t.intermediate : t.hidden;
      EXPECT_EQ(std::memcmp(va[p]->packed, vb[p]->packed, size_t(rows * k / 2)), 0) << e << " " << p;
      EXPECT_EQ(std::memcmp(va[p]->scales, vb[p]->scales, size_t(rows * k / 16)), 0) << e << " " << p;
      EXPECT_EQ(va[p]->scale_2, 1.0f / (1.0f / vb[p]->scale_2)) << e << " " << p;
    }
  }
  const InputScales s_ct = input_scales(ct, 1, 0, t.num_experts), s_mo = input_scales(mo, 1, 0, t.num_experts);
  EXPECT_GT(s_ct.gemm1, 0.0f);
  EXPECT_EQ(s_ct.gemm1, 1.0f / (1.0f / s_mo.gemm1));
  EXPECT_EQ(s_ct.gemm2, 1.0f / (1.0f / s_mo.gemm2));

  const MoeConfig c = ct.moe_config(1, QuantMode::kW4A4, 16);
  auto loaded = make_moe_layer(c, Backend::kCpu), direct = make_moe_layer(c, Backend::kCpu),
       twin = make_moe_layer(c, Backend::kCpu);
  load_moe_layer(ct, 1, *loaded);
  load_moe_layer(mo, 1, *twin);
  for (int e = 0; e < t.num_experts; ++e) {
    CheckpointExpert w = expert_weights(mo, 1, e);
    for (Nvfp4WeightView* v : {&w.view.gate, &w.view.up, &w.view.down}) v->scale_2 = 1.0f / (1.0f / v->scale_2);
    direct->load_expert(e, w.view);
  }
  direct->set_input_scales(s_ct.gemm1, s_ct.gemm2);
  testing::Rng rng(21);
  const auto x = testing::random_bf16(size_t(16) * t.hidden, rng);
  const auto routing = testing::uniform_routing(16, t.num_experts, 2, rng);
  std::vector<bf16> y;
  ASSERT_NO_FATAL_FAILURE(expect_loaded_equals_direct(*loaded, *direct, x, routing, y));
  EXPECT_LT(testing::rel_error(y, testing::run_reference(*twin, x, routing)), 1e-2);
}

TEST(CompressedTensors, BadGlobalScalesAndFormatsAreRejected) {
  const std::string scale = "model.layers.1.mlp.experts.3.down_proj.weight_global_scale";
  for (const float bad : {0.0f, 1e-40f}) {
    TempDir dir;
    write_compressed_tensors_twin(dir.path(), [&](const std::string& name, std::vector<uint8_t>& bytes) {
      if (name == scale) std::memcpy(bytes.data(), &bad, 4);
    });
    const MoeCheckpoint ct(dir.path());
    auto layer = make_moe_layer(ct.moe_config(1), Backend::kCpu);
    expect_error([&] { load_moe_layer(ct, 1, *layer); },
                 "tensor '" + scale + "': expected " +
                     (bad == 0.0f ? "a finite positive scale" : "a global scale whose inverse is a finite float"));
  }
  TempDir fp8;
  write_compressed_tensors_twin(fp8.path());
  std::ifstream in(fp8.file("config.json"));
  nlohmann::json config = nlohmann::json::parse(in);
  config["quantization_config"]["format"] = "float-quantized";
  testing::write_json(fp8.file("config.json"), config);
  const MoeCheckpoint ct(fp8.path());
  expect_error([&] { ct.moe_config(1); }, "quant_algo: expected NVFP4, got compressed-tensors float-quantized");

  config["quantization_config"]["format"] = "nvfp4-pack-quantized";
  config["quantization_config"]["config_groups"]["group_1"] = {{"weights", {{"group_size", 32}}}};
  testing::write_json(fp8.file("config.json"), config);
  expect_error([&] { MoeCheckpoint{fp8.path()}; },
               "config_groups.group_1.weights.group_size: expected one group size in every NVFP4 group (16), got 32");

  // "mixed-precision": NVFP4 where a group says so (here the experts), FP8 elsewhere, whose group size is
  // not NVFP4's and is not checked against it.
  config["quantization_config"]["format"] = "mixed-precision";
  config["quantization_config"]["config_groups"]["group_0"]["format"] = "nvfp4-pack-quantized";
  config["quantization_config"]["config_groups"]["group_1"] = {{"format", "float-quantized"},
                                                               {"weights", {{"num_bits", 8}, {"group_size", nullptr}}}};
  testing::write_json(fp8.file("config.json"), config);
  const MoeCheckpoint mixed(fp8.path());
  EXPECT_EQ(mixed.model().quant_algo, "NVFP4");
  EXPECT_EQ(mixed.model().group_size, 16);
  EXPECT_NO_THROW(mixed.moe_config(1));
  config["quantization_config"]["config_groups"]["group_0"]["format"] = "int-quantized";
  testing::write_json(fp8.file("config.json"), config);
  expect_error([&] { MoeCheckpoint(fp8.path()).moe_config(1); },
               "quant_algo: expected NVFP4, got compressed-tensors mixed-precision");
}

// Both names for one projection's packed weights leave the layer a problem, not a guess.
TEST(CompressedTensors, BothWeightNamesAreALayerProblem) {
  TempDir dir;
  const MoeConfig c = synthetic_config();
  const RandomExperts experts(c, 11);
  write_synthetic(dir.path(), c, experts, Naming::kGateProj);
  {
    const SafetensorsCheckpoint src(dir.path());
    SafetensorsWriter w;
    for (const std::string& name : src.tensor_names()) {
      const TensorView v = src.tensor(name);
      w.add_owned(name, v.info->dtype, v.info->shape, std::vector<uint8_t>(v.data, v.data + v.info->bytes()));
    }
    const TensorView gate = src.tensor("model.layers.2.mlp.experts.0.gate_proj.weight");
    w.add_owned("model.layers.2.mlp.experts.0.gate_proj.weight_packed", DType::kU8, gate.info->shape,
                std::vector<uint8_t>(gate.data, gate.data + gate.info->bytes()));
    w.write(dir.file("model2.safetensors"));
  }
  std::filesystem::rename(dir.file("model2.safetensors"), dir.file("model.safetensors"));
  const MoeCheckpoint ckpt(dir.path());
  EXPECT_EQ(ckpt.moe_layer(2).problem,
            "both ModelOpt (gate_proj.weight) and compressed-tensors (gate_proj.weight_packed) weights");
}

TEST(ModelConfig, BadFieldsNameTheFileAndField) {
  expect_error(
      [] {
        config_of({{"hidden_size", 64}, {"intermediate_size", 32}, {"num_experts_per_tok", 2}});
      },
      "config.json: n_routed_experts | num_experts | num_local_experts: expected a positive integer field, got "
      "missing");
  expect_error([] { config_of({{"hidden_size", "64"}}); }, "hidden_size: expected a positive integer, got \"64\"");
  expect_error(
      [] {
        config_of({{"hidden_size", 64},
                   {"intermediate_size", 32},
                   {"num_experts", 4},
                   {"num_experts_per_tok", 2},
                   {"hidden_act", "relu"}});
      },
      "hidden_act: expected silu, swish, gelu_pytorch_tanh, gelu_tanh or gelu_new, got relu");
}

}  // namespace
}  // namespace fp4moe
