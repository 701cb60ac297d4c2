// The checkpoint quantizer (`fp4moe quantize`): the committed tiny checkpoint is exactly what the
// tool makes today, every projection is quantize_nvfp4 with ModelOpt's scales, calibration gives
// the input scales it promises, everything else is copied unchanged, expert biases are carried
// over (per-expert ones as they are, fused ones split per expert like their weights), and bad
// inputs write nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "checkpoint/checkpoint_files.h"
#include "checkpoint/unquantized_experts.h"
#include "checkpoint/tiny_checkpoint.h"
#include "common/compare.h"
#include "common/expect_error.h"
#include "common/random_inputs.h"
#include "common/rng.h"
#include "common/run_layer.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/checkpoint/quantize_checkpoint.h"
#include "fp4moe/format/mxfp4.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/activation.h"

namespace fp4moe {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::TempDir;

const std::string kTiny = std::string(FP4MOE_TEST_DATA) + "/tiny-nvfp4";

float scalar(const TensorView& v) {
  float f;
  std::memcpy(&f, v.data, 4);
  return f;
}

// n BF16 values ~ N(0, 0.1), as the bytes of a BF16 tensor.
std::vector<uint8_t> random_bf16_bytes(int64_t n, testing::Rng& rng) {
  std::vector<uint8_t> b(size_t(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    const bf16 v = float_to_bf16(float(rng.normal() * 0.1));
    std::memcpy(&b[size_t(2 * i)], &v.bits, 2);
  }
  return b;
}

struct TinyBuild {
  TempDir dir;
  std::string bf16 = dir.file("bf16"), calib = dir.file("calib.safetensors"), out = dir.file("nvfp4");
  QuantizeCheckpointReport report;
  explicit TinyBuild(bool with_biases = false) {
    testing::write_tiny_bf16_checkpoint(bf16, with_biases);
    testing::write_tiny_calibration(calib);
    QuantizeCheckpointOptions o;
    o.calibration = calib;
    report = quantize_checkpoint(bf16, out, o);
  }
};

TEST(QuantizeCheckpoint, CommittedTinyCheckpointIsWhatTheToolMakes) {
  const TinyBuild b;
  std::vector<std::string> committed, made;
  for (const auto& e : fs::directory_iterator(kTiny)) committed.push_back(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(b.out)) made.push_back(e.path().filename().string());
  std::sort(committed.begin(), committed.end());
  std::sort(made.begin(), made.end());
  ASSERT_EQ(committed, made);
  for (const auto& name : made)
    EXPECT_EQ(testing::read_file(kTiny + "/" + name), testing::read_file(b.out + "/" + name))
        << name << " differs: regenerate with tests/data/regenerate.sh";
  EXPECT_LT(fs::file_size(kTiny + "/model.safetensors"), 64u << 10) << "kilobytes, not megabytes";
}

TEST(QuantizeCheckpoint, ProjectionsAreTheLibraryQuantizerWithModelOptScales) {
  const TinyBuild b;
  const SafetensorsCheckpoint in(b.bf16);
  const MoeCheckpoint out(b.out);
  const int H = testing::kTinyHidden, I = testing::kTinyIntermediate;
  for (int e = 0; e < testing::kTinyExperts; ++e) {
    const CheckpointExpert expert = expert_weights(out, 1, e);
    const ExpertWeightsView& v = expert.view;
    const std::string p = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    const std::pair<const char*, const Nvfp4WeightView*> projections[] = {
        {"gate_proj", &v.gate}, {"up_proj", &v.up}, {"down_proj", &v.down}};
    for (const auto& [name, view] : projections) {
      const std::vector<float> w = read_float_tensor(in.tensor(p + name + ".weight"));
      const int64_t rows = std::string(name) == "down_proj" ? H : I, cols = int64_t(w.size()) / rows;
      const float a = amax(w.data(), int64_t(w.size()));
      EXPECT_EQ(view->scale_2, a / 2688.0f) << p << name << ": weight_scale_2 = amax / (6 * 448)";
      std::vector<uint8_t> packed(w.size() / 2), scales(w.size() / 16);
      quantize_nvfp4(w.data(), rows, cols, global_scale_from_amax(a), packed.data(), scales.data());
      EXPECT_EQ(std::memcmp(view->packed, packed.data(), packed.size()), 0) << p << name;
      EXPECT_EQ(std::memcmp(view->scales, scales.data(), scales.size()), 0) << p << name;
      // And the result is close to the BF16 weights (NVFP4's own error, not a bug's).
      std::vector<float> back(w.size());
      dequantize_nvfp4(view->packed, view->scales, rows, cols, ScaleLayout::kLinear, view->scale_2, back.data());
      double num = 0, den = 0;
      for (size_t i = 0; i < w.size(); ++i)
        num += (back[i] - w[i]) * double(back[i] - w[i]), den += double(w[i]) * w[i];
      EXPECT_LT(std::sqrt(num / den), 0.15) << p << name;
    }
  }
}

TEST(QuantizeCheckpoint, CalibratedInputScales) {
  const TinyBuild b;
  const SafetensorsCheckpoint in(b.bf16);
  const SafetensorsCheckpoint out(b.out);
  const std::vector<float> x = read_float_tensor(SafetensorsFile(b.calib).tensor("activations"));
  const float x_amax = amax(x.data(), int64_t(x.size()));
  const int H = testing::kTinyHidden, I = testing::kTinyIntermediate, T = int(x.size()) / H;
  for (int e = 0; e < testing::kTinyExperts; ++e) {
    const std::string p = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    EXPECT_EQ(scalar(out.tensor(p + "gate_proj.input_scale")), x_amax / 2688.0f);
    EXPECT_EQ(scalar(out.tensor(p + "up_proj.input_scale")), x_amax / 2688.0f);
    const auto gate = read_float_tensor(in.tensor(p + "gate_proj.weight"));
    const auto up = read_float_tensor(in.tensor(p + "up_proj.weight"));
    double h_amax = 0;
    for (int t = 0; t < T; ++t) {
      for (int i = 0; i < I; ++i) {
        double g = 0, u = 0;
        for (int k = 0; k < H; ++k)
          g += double(gate[i * H + k]) * x[t * H + k], u += double(up[i * H + k]) * x[t * H + k];
        h_amax = std::max(h_amax, std::fabs(g / (1 + std::exp(-g)) * u));
      }
    }
    EXPECT_NEAR(scalar(out.tensor(p + "down_proj.input_scale")), h_amax / 2688.0, 1e-5 * h_amax / 2688.0);
  }
}

TEST(QuantizeCheckpoint, NonExpertTensorsAndConfigs) {
  const TinyBuild b;
  const SafetensorsCheckpoint in(b.bf16), out(b.out);
  for (const std::string name : {"model.embed_tokens.weight", "lm_head.weight", "model.layers.1.mlp.gate.weight",
                                 "model.layers.0.mlp.down_proj.weight", "model.norm.weight"}) {
    const TensorView a = in.tensor(name), c = out.tensor(name);
    EXPECT_EQ(c.info->dtype, a.info->dtype);
    EXPECT_EQ(c.info->shape, a.info->shape);
    EXPECT_EQ(std::memcmp(a.data, c.data, a.info->bytes()), 0) << name;
  }
  EXPECT_EQ(out.find("model.layers.1.mlp.experts.0.gate_proj.weight")->dtype, DType::kU8);
  const MoeModelConfig m = read_model_config(b.out);
  EXPECT_EQ(m.quant_algo, "NVFP4");
  EXPECT_EQ(m.group_size, 16);
  for (const char* module :
       {"lm_head", "model.layers.0.self_attn.q_proj", "model.layers.1.mlp.gate", "model.layers.0.mlp.gate_proj"})
    EXPECT_NE(std::find(m.exclude_modules.begin(), m.exclude_modules.end(), module), m.exclude_modules.end()) << module;
  for (const auto& module : m.exclude_modules) EXPECT_EQ(module.find("embed"), std::string::npos) << module;
  const auto config = nlohmann::json::parse(testing::read_file(b.out + "/config.json"));
  EXPECT_EQ(config["quantization_config"]["quant_method"], "modelopt");
  EXPECT_EQ(config["model_type"], "qwen3_moe");
  EXPECT_TRUE(fs::exists(b.out + "/tokenizer_config.json"));
}

// Sharded BF16 input with per-layer fused [E, 2I, H] gate_up: sharded output with its index,
// per-expert ModelOpt tensors, loadable.
TEST(QuantizeCheckpoint, ShardedFusedInput) {
  TempDir dir;
  const std::string in = dir.file("in"), out = dir.file("out");
  fs::create_directories(in);
  const int E = 3, H = 32, I = 16;
  testing::Rng rng(1);
  const auto bf16_bytes = [&](int64_t n) { return random_bf16_bytes(n, rng); };
  SafetensorsWriter s1, s2;
  s1.add_owned("model.layers.0.mlp.experts.gate_up_proj.weight", DType::kBF16, {E, 2 * I, H},
               bf16_bytes(E * 2 * I * H));
  s1.add_owned("model.layers.0.mlp.router.weight", DType::kBF16, {E, H}, bf16_bytes(E * H));
  s2.add_owned("model.layers.0.mlp.experts.down_proj.weight", DType::kBF16, {E, H, I}, bf16_bytes(E * H * I));
  s1.write(in + "/model-00001-of-00002.safetensors");
  s2.write(in + "/model-00002-of-00002.safetensors");
  testing::write_json(in + "/model.safetensors.index.json",
                      {{"weight_map",
                        {{"model.layers.0.mlp.experts.gate_up_proj.weight", "model-00001-of-00002.safetensors"},
                         {"model.layers.0.mlp.router.weight", "model-00001-of-00002.safetensors"},
                         {"model.layers.0.mlp.experts.down_proj.weight", "model-00002-of-00002.safetensors"}}}});
  testing::write_gpt_oss_config(in, E, H, I);
  const QuantizeCheckpointReport r = quantize_checkpoint(in, out);
  EXPECT_EQ(r.projections_quantized, 3 * E);
  EXPECT_EQ(r.tensors_copied, 1);

  const MoeCheckpoint q(out);
  EXPECT_TRUE(q.tensors().sharded());
  EXPECT_EQ(q.tensors().file_of("model.layers.0.mlp.experts.2.down_proj.weight").path(),
            out + "/model-00002-of-00002.safetensors");
  const MoeLayerTensors& t = q.moe_layer(0);
  EXPECT_FALSE(t.fused_experts);
  EXPECT_EQ(t.gate_name, "gate_proj");
  EXPECT_FALSE(t.has_input_scale) << "no --calib: input_scale omitted";
  EXPECT_EQ(t.router_weight, "model.layers.0.mlp.router.weight");
  expect_error([&] { q.unquantized_moe_config(0); },
               "model.layers.0.mlp.experts.0.gate_proj.weight: expected expert weights not in NVFP4 (BF16, F16, F32 "
               "or MXFP4), got NVFP4 weights (U8, ModelOpt layout)");
  auto layer = make_moe_layer(q.moe_config(0, QuantMode::kW4A16, 4), Backend::kCpu);
  load_moe_layer(q, 0, *layer);
  // Up rows of expert 1 are rows [I, 2I) of slice 1 of the fused source.
  const SafetensorsCheckpoint src(in);
  const auto all = read_float_tensor(src.tensor("model.layers.0.mlp.experts.gate_up_proj.weight"));
  const std::vector<float> up1(all.begin() + (2 * I + I) * H, all.begin() + (4 * I) * H);
  EXPECT_EQ(expert_weights(q, 0, 1).view.up.scale_2, amax(up1.data(), int64_t(up1.size())) / 2688.0f);
}

// ---- expert biases ----

const char* const kProjections[] = {"gate_proj", "up_proj", "down_proj"};

// Per-expert biases keep their names, dtype and bytes; the rest of the checkpoint is what it is
// without them (the weights are the committed tiny checkpoint's), but for the down projections'
// calibrated input_scale, which covers the biased intermediate act(gate x + b, up x + b).
TEST(QuantizeCheckpoint, PerExpertBiasesCarriedUnchanged) {
  const TinyBuild b(true);
  EXPECT_EQ(b.report.biases_copied, 3 * testing::kTinyExperts);
  const SafetensorsCheckpoint in(b.bf16), committed(kTiny);
  const MoeCheckpoint out(b.out);
  const MoeLayerTensors& t = out.moe_layer(1);
  EXPECT_TRUE(t.problem.empty()) << t.problem;
  EXPECT_TRUE(t.has_bias(ExpertProjection::kGate) && t.has_bias(ExpertProjection::kUp) &&
              t.has_bias(ExpertProjection::kDown));
  const std::vector<float> x = read_float_tensor(SafetensorsFile(b.calib).tensor("activations"));
  const int H = testing::kTinyHidden, I = testing::kTinyIntermediate, T = int(x.size()) / H;
  for (int e = 0; e < testing::kTinyExperts; ++e) {
    const std::string p = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    const CheckpointExpert expert = expert_weights(out, 1, e);
    for (int j = 0; j < 3; ++j) {
      const std::string name = p + kProjections[j] + ".bias";
      const TensorView a = in.tensor(name), c = out.tensors().tensor(name);
      EXPECT_EQ(c.info->dtype, DType::kBF16) << name;
      EXPECT_EQ(c.info->shape, a.info->shape) << name;
      EXPECT_EQ(std::memcmp(a.data, c.data, a.info->bytes()), 0) << name;
      EXPECT_EQ(expert.bias[size_t(j)], read_float_tensor(a)) << name;
      for (const char* suffix : {".weight", ".weight_scale", ".weight_scale_2"}) {
        const TensorView q = out.tensors().tensor(p + kProjections[j] + suffix);
        const TensorView r = committed.tensor(p + kProjections[j] + suffix);
        EXPECT_EQ(std::memcmp(q.data, r.data, r.info->bytes()), 0) << p << kProjections[j] << suffix;
      }
    }
    EXPECT_EQ(scalar(out.tensors().tensor(p + "gate_proj.input_scale")),
              scalar(committed.tensor(p + "gate_proj.input_scale")));
    const auto gate = read_float_tensor(in.tensor(p + "gate_proj.weight"));
    const auto up = read_float_tensor(in.tensor(p + "up_proj.weight"));
    const auto gate_bias = read_float_tensor(in.tensor(p + "gate_proj.bias"));
    const auto up_bias = read_float_tensor(in.tensor(p + "up_proj.bias"));
    double h_amax = 0;
    for (int tok = 0; tok < T; ++tok) {
      for (int i = 0; i < I; ++i) {
        double g = gate_bias[i], u = up_bias[i];
        for (int k = 0; k < H; ++k)
          g += double(gate[i * H + k]) * x[tok * H + k], u += double(up[i * H + k]) * x[tok * H + k];
        h_amax = std::max(h_amax, std::fabs(g / (1 + std::exp(-g)) * u));
      }
    }
    EXPECT_NEAR(scalar(out.tensors().tensor(p + "down_proj.input_scale")), h_amax / 2688.0, 1e-5 * h_amax / 2688.0);
  }

  // The quantized layer runs with its biases (the reference adds them too: CPU backend bias support).
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    const double err = testing::loaded_layer_error(out, 1, mode);
    std::printf("tiny checkpoint with biases %s: rel error %.3e\n", std::string(to_string(mode)).c_str(), err);
    EXPECT_LT(err, 1e-2);
  }
}

// Fused biases (gpt-oss: experts.gate_up_proj_bias [E, 2I] next to experts.gate_up_proj.weight;
// vLLM: experts.w13_bias) follow their weights into per-expert tensors: same dtype, the same bytes
// split by expert and by gate/up, no fused bias left behind.
TEST(QuantizeCheckpoint, FusedBiasesSplitPerExpert) {
  struct Variant {
    const char *w13, *w2;
    char weight_separator;
    const char* out_names[3];
  };
  for (const Variant& v : {Variant{"gate_up_proj", "down_proj", '.', {"gate_proj", "up_proj", "down_proj"}},
                           Variant{"w13", "w2", '_', {"w1", "w3", "w2"}}}) {
    TempDir dir;
    const std::string in = dir.file("in"), out = dir.file("out");
    fs::create_directories(in);
    const int E = 3, H = 32, I = 16;
    testing::Rng rng(1);
    const auto bf16_bytes = [&](int64_t n) { return random_bf16_bytes(n, rng); };
    std::vector<float> down_bias(size_t(E) * H);
    for (float& x : down_bias) x = float(rng.normal());
    const std::vector<uint8_t> w13_bias = bf16_bytes(E * 2 * I);
    const std::string prefix = "model.layers.0.mlp.experts.";
    SafetensorsWriter w;
    w.add_owned(prefix + v.w13 + v.weight_separator + "weight", DType::kBF16, {E, 2 * I, H}, bf16_bytes(E * 2 * I * H));
    w.add_owned(prefix + v.w13 + "_bias", DType::kBF16, {E, 2 * I}, w13_bias);
    w.add_owned(prefix + v.w2 + v.weight_separator + "weight", DType::kBF16, {E, H, I}, bf16_bytes(E * H * I));
    w.add(prefix + v.w2 + "_bias", DType::kF32, {E, H}, down_bias.data(), down_bias.size() * 4);
    w.write(in + "/model.safetensors");
    testing::write_gpt_oss_config(in, E, H, I);
    const QuantizeCheckpointReport r = quantize_checkpoint(in, out);
    EXPECT_EQ(r.biases_copied, 3 * E);
    EXPECT_EQ(r.tensors_copied, 0);

    const MoeCheckpoint q(out);
    EXPECT_EQ(q.tensors().find(prefix + v.w13 + "_bias"), nullptr);
    EXPECT_EQ(q.tensors().find(prefix + v.w2 + "_bias"), nullptr);
    const MoeLayerTensors& t = q.moe_layer(0);
    ASSERT_TRUE(t.problem.empty()) << t.problem;
    EXPECT_FALSE(t.fused_experts);
    for (int e = 0; e < E; ++e) {
      const CheckpointExpert expert = expert_weights(q, 0, e);
      for (int j = 0; j < 3; ++j) {
        const std::string name = prefix + std::to_string(e) + "." + v.out_names[j] + ".bias";
        const TensorView b = q.tensors().tensor(name);
        const int64_t rows = j == 2 ? H : I;
        EXPECT_EQ(b.info->dtype, j == 2 ? DType::kF32 : DType::kBF16) << name;
        EXPECT_EQ(b.info->shape, std::vector<int64_t>{rows}) << name;
        const uint8_t* source = j == 2 ? reinterpret_cast<const uint8_t*>(down_bias.data()) + e * H * 4
                                       : w13_bias.data() + (e * 2 * I + j * I) * 2;
        EXPECT_EQ(std::memcmp(b.data, source, b.info->bytes()), 0) << name;
        EXPECT_EQ(expert.bias[size_t(j)], read_float_tensor(b)) << name;
      }
    }
    auto layer = make_moe_layer(q.moe_config(0, QuantMode::kW4A16, 4), Backend::kCpu);
    load_moe_layer(q, 0, *layer);
  }
}

// ---- Hugging Face transformers' gpt-oss layout ----
// experts.gate_up_proj [E, H, 2I] (bare, x @ W, gate/up interleaved in the columns), gate_up_proj_bias
// [E, 2I] interleaved, down_proj [E, I, H], down_proj_bias [E, H].

std::vector<float> to_float(const bf16* v, size_t n) {
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = bf16_to_float(v[i]);
  return f;
}

// The layer quantize + load must give: every projection of the de-interleaved, transposed weights
// through quantize_nvfp4 with ModelOpt's scale_2, the de-interleaved biases added.
struct ReferenceExperts {
  std::vector<std::vector<uint8_t>> packed, scales;  // [expert * 3 + projection]
  std::vector<std::vector<float>> biases;
  std::vector<float> scale_2;
  std::vector<ExpertWeightsView> views;
  explicit ReferenceExperts(const testing::GptOssExperts& x) {
    const int64_t H = x.hidden, I = x.intermediate;
    const std::vector<bf16>* weights[3] = {&x.gate, &x.up, &x.down};
    const std::vector<bf16>* bias[3] = {&x.gate_bias, &x.up_bias, &x.down_bias};
    for (int e = 0; e < x.experts; ++e) {
      for (int j = 0; j < 3; ++j) {
        const int64_t rows = j == 2 ? H : I, cols = j == 2 ? I : H;
        const std::vector<float> w = to_float(weights[j]->data() + e * rows * cols, size_t(rows * cols));
        const float a = amax(w.data(), int64_t(w.size()));
        packed.emplace_back(w.size() / 2);
        scales.emplace_back(w.size() / 16);
        quantize_nvfp4(w.data(), rows, cols, global_scale_from_amax(a), packed.back().data(), scales.back().data());
        biases.push_back(to_float(bias[j]->data() + e * rows, size_t(rows)));
        scale_2.push_back(a / 2688.0f);
      }
    }
    for (int e = 0; e < x.experts; ++e) {  // pointers once the vectors stop growing
      ExpertWeightsView v;
      Nvfp4WeightView* projections[3] = {&v.gate, &v.up, &v.down};
      for (size_t j = 0; j < 3; ++j) {
        const size_t i = size_t(e) * 3 + j;
        projections[j]->packed = packed[i].data();
        projections[j]->scales = scales[i].data();
        projections[j]->scale_layout = ScaleLayout::kLinear;
        projections[j]->scale_2 = scale_2[i];
        projections[j]->bias = biases[i].data();
      }
      views.push_back(v);
    }
  }
};

TEST(QuantizeCheckpoint, HuggingFaceGptOssLayout) {
  TempDir dir;
  const std::string in = dir.file("hf"), out = dir.file("out");
  const testing::GptOssExperts x = testing::make_gpt_oss_experts(3);
  const int E = x.experts, H = x.hidden, I = x.intermediate;
  testing::write_gpt_oss_checkpoint(in, x, testing::GptOssLayout::kHf);
  {
    // The scan recognises it; the loader does not load it (not NVFP4) but says what to do.
    const MoeCheckpoint ckpt(in);
    const MoeLayerTensors& t = ckpt.moe_layer(0);
    EXPECT_TRUE(t.hf_layout);
    EXPECT_TRUE(t.gate_up_interleaved) << "model_type gpt_oss";
    EXPECT_TRUE(t.problem.empty()) << t.problem;
    EXPECT_EQ(t.tensor_name(ExpertProjection::kGate, 0, "weight"), "model.layers.0.mlp.experts.gate_up_proj");
    EXPECT_EQ(t.num_experts, E);
    EXPECT_EQ(t.hidden, H);
    EXPECT_EQ(t.intermediate, I);
    EXPECT_FALSE(t.nvfp4);
    // read_expert_bias de-interleaves.
    EXPECT_EQ(read_expert_bias(ckpt, t, 2, ExpertProjection::kUp), to_float(x.up_bias.data() + 2 * I, size_t(I)));
    EXPECT_EQ(read_expert_bias(ckpt, t, 1, ExpertProjection::kGate), to_float(x.gate_bias.data() + I, size_t(I)));
    expect_error([&] { ckpt.moe_config(0); }, "convert it with `fp4moe quantize` first");
    // As unquantized experts it reads: config.json's sizes, and each projection transposed to
    // ModelOpt's [N, K] with gate and up de-interleaved.
    const MoeConfig c = ckpt.unquantized_moe_config(0, QuantMode::kW4A4, 7);
    EXPECT_EQ(c.num_experts, E);
    EXPECT_EQ(c.hidden, H);
    EXPECT_EQ(c.intermediate, I);
    EXPECT_EQ(c.top_k, 2);
    EXPECT_EQ(c.mode, QuantMode::kW4A4);
    EXPECT_EQ(c.max_tokens, 7);
    check_unquantized_layer(ckpt, t);
    EXPECT_EQ(read_unquantized_projection(ckpt.tensors(), t, 2, ExpertProjection::kUp),
              to_float(x.up.data() + 2 * I * H, size_t(I * H)));
    EXPECT_EQ(read_unquantized_projection(ckpt.tensors(), t, 1, ExpertProjection::kGate),
              to_float(x.gate.data() + I * H, size_t(I * H)));
    EXPECT_EQ(read_unquantized_projection(ckpt.tensors(), t, 0, ExpertProjection::kDown),
              to_float(x.down.data(), size_t(H * I)));
  }
  const QuantizeCheckpointReport r = quantize_checkpoint(in, out);
  EXPECT_EQ(r.projections_quantized, 3 * E);
  EXPECT_EQ(r.biases_copied, 3 * E);
  EXPECT_EQ(r.tensors_copied, 2) << "the router's weight and bias";

  const MoeCheckpoint q(out);
  const MoeLayerTensors& t = q.moe_layer(0);
  EXPECT_EQ(t.router_linear_bias, "model.layers.0.mlp.router.bias") << "carried through";
  ASSERT_TRUE(t.problem.empty()) << t.problem;
  EXPECT_FALSE(t.fused_experts);
  EXPECT_FALSE(t.hf_layout);
  EXPECT_TRUE(t.nvfp4);
  for (const char* bare : {"gate_up_proj", "gate_up_proj_bias", "down_proj", "down_proj_bias"})
    EXPECT_EQ(q.tensors().find(std::string("model.layers.0.mlp.experts.") + bare), nullptr) << bare;
  // Biases: the source's bytes, de-interleaved, BF16 as they were.
  const std::vector<bf16>* biases[3] = {&x.gate_bias, &x.up_bias, &x.down_bias};
  for (int e = 0; e < E; ++e) {
    for (int j = 0; j < 3; ++j) {
      const std::string name = "model.layers.0.mlp.experts." + std::to_string(e) + "." + kProjections[j] + ".bias";
      const TensorView b = q.tensors().tensor(name);
      const int64_t rows = j == 2 ? H : I;
      EXPECT_EQ(b.info->dtype, DType::kBF16) << name;
      EXPECT_EQ(b.info->shape, std::vector<int64_t>{rows}) << name;
      EXPECT_EQ(std::memcmp(b.data, biases[j]->data() + e * rows, size_t(rows) * 2), 0) << name;
    }
  }

  // Loaded, the layer is bit-identical to one built from the same matrices quantized by the library.
  const ReferenceExperts ref(x);
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    const MoeConfig c = q.moe_config(0, mode, 16);
    EXPECT_EQ(c.activation.kind, Activation::kSwigluOai);
    auto loaded = make_moe_layer(c, Backend::kCpu);
    load_moe_layer(q, 0, *loaded);
    auto direct = make_moe_layer(c, Backend::kCpu);
    for (int e = 0; e < E; ++e) {
      const CheckpointExpert got = expert_weights(q, 0, e);
      const ExpertWeightsView& want = ref.views[size_t(e)];
      const std::pair<const Nvfp4WeightView*, const Nvfp4WeightView*> pairs[] = {
          {&got.view.gate, &want.gate}, {&got.view.up, &want.up}, {&got.view.down, &want.down}};
      for (int j = 0; j < 3; ++j) {
        const auto [g, w] = pairs[j];
        const size_t n = size_t(H * I);
        EXPECT_EQ(std::memcmp(g->packed, w->packed, n / 2), 0) << "expert " << e << " " << kProjections[j];
        EXPECT_EQ(std::memcmp(g->scales, w->scales, n / 16), 0) << "expert " << e << " " << kProjections[j];
        EXPECT_EQ(g->scale_2, w->scale_2) << "expert " << e << " " << kProjections[j];
        EXPECT_EQ(got.bias[size_t(j)], ref.biases[size_t(e) * 3 + size_t(j)])
            << "expert " << e << " " << kProjections[j];
      }
      direct->load_expert(e, want);
    }
    testing::Rng rng(11);
    const auto xs = testing::random_bf16(size_t(16) * H, rng);
    const auto routing = testing::uniform_routing(16, E, c.top_k, rng);
    const std::vector<bf16> a = testing::run_forward(*loaded, xs, routing);
    const std::vector<bf16> b = testing::run_forward(*direct, xs, routing);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(bf16)), 0) << to_string(mode) << ": not bit-identical";
    const double err = testing::rel_error(a, testing::run_reference(*loaded, xs, routing));
    EXPECT_LT(err, 1e-2) << to_string(mode);
  }
}

// With --calib the Hugging Face layout gives what the same weights in ModelOpt-named fused BF16
// (gate rows then up rows, not interleaved) give, every output tensor byte for byte: input scales
// included (the down projection's covering the biases).
TEST(QuantizeCheckpoint, HuggingFaceGptOssLayoutMatchesFusedLayout) {
  TempDir dir;
  const testing::GptOssExperts x = testing::make_gpt_oss_experts(4);
  testing::write_gpt_oss_checkpoint(dir.file("hf"), x, testing::GptOssLayout::kHf);
  testing::write_gpt_oss_checkpoint(dir.file("fused"), x, testing::GptOssLayout::kFused);
  testing::write_tiny_calibration(dir.file("calib.safetensors"));
  QuantizeCheckpointOptions o;
  o.calibration = dir.file("calib.safetensors");
  const auto r1 = quantize_checkpoint(dir.file("hf"), dir.file("hf-out"), o);
  const auto r2 = quantize_checkpoint(dir.file("fused"), dir.file("fused-out"), o);
  EXPECT_EQ(r1.projections_quantized, r2.projections_quantized);
  EXPECT_EQ(r1.biases_copied, r2.biases_copied);
  const SafetensorsCheckpoint a(dir.file("hf-out")), b(dir.file("fused-out"));
  EXPECT_EQ(a.tensor_names(), b.tensor_names());
  EXPECT_NE(a.find("model.layers.0.mlp.experts.2.down_proj.input_scale"), nullptr);
  for (const auto& name : b.tensor_names()) {
    const TensorView u = a.tensor(name), v = b.tensor(name);
    EXPECT_EQ(u.info->dtype, v.info->dtype) << name;
    EXPECT_EQ(u.info->shape, v.info->shape) << name;
    EXPECT_EQ(std::memcmp(u.data, v.data, v.info->bytes()), 0) << name;
  }
}

TEST(QuantizeCheckpoint, HuggingFaceGptOssLayoutRejectsWrongShapesWritingNothing) {
  TempDir dir;
  const testing::GptOssExperts x = testing::make_gpt_oss_experts(3);
  const int64_t E = x.experts, H = x.hidden, I = x.intermediate;
  // down_proj in ModelOpt's orientation [E, H, I] under the bare name: inconsistent with gate_up_proj.
  testing::write_gpt_oss_checkpoint(dir.file("in"), x, testing::GptOssLayout::kHf, {E, H, I});
  {
    const MoeCheckpoint ckpt(dir.file("in"));
    EXPECT_NE(ckpt.moe_layer(0).problem.find("bare parameter model.layers.0.mlp.experts.down_proj is [3, 32, 16], "
                                             "expected [3, 16, 32]"),
              std::string::npos)
        << ckpt.moe_layer(0).problem;
  }
  expect_error([&] { quantize_checkpoint(dir.file("in"), dir.file("out")); },
               "bare parameter model.layers.0.mlp.experts.down_proj is [3, 32, 16], expected [3, 16, 32]");
  EXPECT_FALSE(fs::exists(dir.file("out")));

  // Consistent with each other, not with config.json.
  testing::write_gpt_oss_checkpoint(dir.file("in2"), x, testing::GptOssLayout::kHf);
  nlohmann::json config = nlohmann::json::parse(testing::read_file(dir.file("in2/config.json")));
  config["intermediate_size"] = 32;
  testing::write_json(dir.file("in2/config.json"), config);
  expect_error([&] { quantize_checkpoint(dir.file("in2"), dir.file("out2")); },
               "tensor 'model.layers.0.mlp.experts.gate_up_proj': expected [3, 32, 64] [E, H, 2I]");
  EXPECT_FALSE(fs::exists(dir.file("out2")));

  // A bare parameter outside the gpt-oss form is named, not guessed at.
  {
    const std::string in = dir.file("in3");
    fs::create_directories(in);
    testing::Rng rng(2);
    SafetensorsWriter w;
    w.add_owned("model.layers.0.mlp.experts.gate_up_proj", DType::kBF16, {E, H, 2 * I},
                random_bf16_bytes(E * H * 2 * I, rng));
    w.add_owned("model.layers.0.mlp.experts.down_proj.weight", DType::kBF16, {E, H, I},
                random_bf16_bytes(E * H * I, rng));
    w.write(in + "/model.safetensors");
    testing::write_file(in + "/config.json", testing::read_file(dir.file("in2/config.json")));
    expect_error([&] { quantize_checkpoint(in, dir.file("out3")); },
                 "bare parameter model.layers.0.mlp.experts.gate_up_proj is not supported");
    EXPECT_FALSE(fs::exists(dir.file("out3")));
  }
}

// Llama-4's bare gate_up_proj holds gate and up as halves of its columns, not interleaved as gpt-oss's:
// read as config.json's model_type says, it quantizes to what the same weights in ModelOpt-named fused
// BF16 give, byte for byte; read as gpt-oss's it would not, so that is tested too.
TEST(QuantizeCheckpoint, HuggingFaceLlama4LayoutMatchesFusedLayout) {
  TempDir dir;
  const testing::GptOssExperts x = testing::make_gpt_oss_experts(6);
  const int64_t H = x.hidden, I = x.intermediate;
  testing::write_llama4_checkpoint(dir.file("hf"), x, testing::GptOssLayout::kHf);
  testing::write_llama4_checkpoint(dir.file("fused"), x, testing::GptOssLayout::kFused);
  {
    const MoeCheckpoint ckpt(dir.file("hf"));
    EXPECT_EQ(ckpt.model().top_k, 1);
    const MoeLayerTensors& t = ckpt.moe_layer(0);
    ASSERT_TRUE(t.problem.empty()) << t.problem;
    EXPECT_TRUE(t.hf_layout);
    EXPECT_FALSE(t.gate_up_interleaved) << "model_type llama4_text";
    EXPECT_EQ(t.tensor_name(ExpertProjection::kGate, 0, "weight"),
              "language_model.model.layers.0.feed_forward.experts.gate_up_proj");
    EXPECT_EQ(t.router_weight, "language_model.model.layers.0.feed_forward.router.weight");
    EXPECT_FALSE(t.has_biases());
    check_unquantized_layer(ckpt, t);
    EXPECT_EQ(read_unquantized_projection(ckpt.tensors(), t, 2, ExpertProjection::kUp),
              to_float(x.up.data() + 2 * I * H, size_t(I * H)));
    EXPECT_EQ(read_unquantized_projection(ckpt.tensors(), t, 1, ExpertProjection::kGate),
              to_float(x.gate.data() + I * H, size_t(I * H)));
  }
  quantize_checkpoint(dir.file("hf"), dir.file("hf-out"));
  quantize_checkpoint(dir.file("fused"), dir.file("fused-out"));
  const SafetensorsCheckpoint a(dir.file("hf-out")), b(dir.file("fused-out"));
  EXPECT_EQ(a.tensor_names(), b.tensor_names());
  for (const auto& name : b.tensor_names()) {
    const TensorView u = a.tensor(name), v = b.tensor(name);
    EXPECT_EQ(u.info->shape, v.info->shape) << name;
    EXPECT_EQ(std::memcmp(u.data, v.data, v.info->bytes()), 0) << name;
  }
  // The same tensors under gpt-oss's model_type are read interleaved: other weights.
  nlohmann::json config = nlohmann::json::parse(testing::read_file(dir.file("hf/config.json")));
  config["text_config"]["model_type"] = "gpt_oss";
  testing::write_json(dir.file("hf/config.json"), config);
  const MoeCheckpoint as_gpt_oss(dir.file("hf"));
  EXPECT_NE(read_unquantized_projection(as_gpt_oss.tensors(), as_gpt_oss.moe_layer(0), 2, ExpertProjection::kUp),
            to_float(x.up.data() + 2 * I * H, size_t(I * H)));
}

// Only config.json's model_type tells how a bare gate_up_proj holds gate and up; for any other model type
// the layer is a problem that names it, and quantize writes nothing.
TEST(QuantizeCheckpoint, BareGateUpOfAnUnknownModelTypeIsNotGuessed) {
  TempDir dir;
  testing::write_llama4_checkpoint(dir.file("in"), testing::make_gpt_oss_experts(6), testing::GptOssLayout::kHf);
  nlohmann::json config = nlohmann::json::parse(testing::read_file(dir.file("in/config.json")));
  config["text_config"]["model_type"] = "mixtral";
  testing::write_json(dir.file("in/config.json"), config);
  const std::string message =
      "bare parameter language_model.model.layers.0.feed_forward.experts.gate_up_proj of model_type 'mixtral': "
      "whether its columns interleave gate and up (gpt_oss) or hold them as halves (llama4) is known only for "
      "those model types";
  EXPECT_EQ(MoeCheckpoint(dir.file("in")).moe_layer(0).problem, message);
  expect_error([&] { quantize_checkpoint(dir.file("in"), dir.file("out")); }, message);
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

// ---- gpt-oss's MXFP4 checkpoints ----

// MXFP4 by its definition, written out here: e2m1 * 2^(s - 127), independent of format/mxfp4.h.
float mxfp4_value(const uint8_t* blocks, const uint8_t* scales, int64_t row, int64_t k, int64_t col) {
  constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const uint8_t byte = blocks[row * (k / 2) + col / 2];
  const uint8_t code = col % 2 ? byte >> 4 : byte & 0xF;
  const int exponent = int(scales[row * (k / 32) + col / 32]) - 127;
  return (code & 8 ? -1.0f : 1.0f) * kMagnitude[code & 7] * std::ldexp(1.0f, exponent);
}

// Converted, not quantized again: every weight of every expert projection dequantizes from the NVFP4
// output to its MXFP4 value bit for bit (gate the even rows of gate_up_proj, up the odd ones), the
// biases are de-interleaved, the E8M0 scales are not copied; and the MXFP4 checkpoint loaded directly
// (converted as it loads) computes bit for bit what the converted checkpoint does.
TEST(QuantizeCheckpoint, GptOssMxfp4ConvertsExactly) {
  TempDir dir;
  const int64_t E = testing::kMxfp4Experts, H = testing::kMxfp4Hidden, I = testing::kMxfp4Intermediate;
  testing::write_gpt_oss_mxfp4_checkpoint(dir.file("mx"), 31);
  {
    const MoeCheckpoint ckpt(dir.file("mx"));
    EXPECT_EQ(ckpt.model().quant_algo, "MXFP4");
    EXPECT_EQ(ckpt.model().group_size, 32);
    const MoeLayerTensors& t = ckpt.moe_layer(0);
    ASSERT_TRUE(t.problem.empty()) << t.problem;
    EXPECT_TRUE(t.mxfp4);
    EXPECT_FALSE(t.nvfp4);
    EXPECT_TRUE(t.gate_up_interleaved);
    EXPECT_EQ(t.num_experts, E);
    EXPECT_EQ(t.hidden, H);
    EXPECT_EQ(t.intermediate, I);
    EXPECT_EQ(t.tensor_name(ExpertProjection::kUp, 1, "weight_scale"),
              "model.layers.0.mlp.experts.gate_up_proj_scales");
  }
  const QuantizeCheckpointReport r = quantize_checkpoint(dir.file("mx"), dir.file("out"));
  EXPECT_EQ(r.projections_quantized, 3 * E);
  EXPECT_EQ(r.mxfp4_projections, 3 * E);
  EXPECT_EQ(r.inexact_blocks, 0) << "the fixture's exponents span 7 octaves";
  EXPECT_EQ(r.biases_copied, 3 * E);
  EXPECT_EQ(r.tensors_copied, 2) << "the router's weight and bias; the MXFP4 scales are not copied";

  const SafetensorsCheckpoint src(dir.file("mx"));
  const std::string p = "model.layers.0.mlp.experts.";
  const uint8_t* gu_blocks = src.tensor(p + "gate_up_proj_blocks").data;
  const uint8_t* gu_scales = src.tensor(p + "gate_up_proj_scales").data;
  const uint8_t* d_blocks = src.tensor(p + "down_proj_blocks").data;
  const uint8_t* d_scales = src.tensor(p + "down_proj_scales").data;
  const std::vector<float> gu_bias = read_float_tensor(src.tensor(p + "gate_up_proj_bias"));
  const MoeCheckpoint q(dir.file("out"));
  EXPECT_EQ(q.model().quant_algo, "NVFP4");
  for (int e = 0; e < E; ++e) {
    const CheckpointExpert x = expert_weights(q, 0, e);
    const Nvfp4WeightView* views[3] = {&x.view.gate, &x.view.up, &x.view.down};
    for (int j = 0; j < 3; ++j) {
      const bool down = j == 2;
      const int64_t rows = down ? H : I, k = down ? I : H;
      std::vector<float> got(size_t(rows * k));
      dequantize_nvfp4(views[j]->packed, views[j]->scales, rows, k, ScaleLayout::kLinear, views[j]->scale_2,
                       got.data());
      for (int64_t n = 0; n < rows; ++n) {
        const int64_t source_row = down ? e * H + n : e * 2 * I + 2 * n + j;  // gate 2n, up 2n + 1
        for (int64_t c = 0; c < k; ++c) {
          const float want = mxfp4_value(down ? d_blocks : gu_blocks, down ? d_scales : gu_scales, source_row, k, c);
          ASSERT_EQ(got[size_t(n * k + c)], want) << "expert " << e << " " << kProjections[j] << " [" << n << ", " << c
                                                  << "]";
        }
      }
    }
    for (int64_t n = 0; n < I; ++n) {
      EXPECT_EQ(x.bias[0][size_t(n)], gu_bias[size_t(e * 2 * I + 2 * n)]) << "gate bias " << n;
      EXPECT_EQ(x.bias[1][size_t(n)], gu_bias[size_t(e * 2 * I + 2 * n + 1)]) << "up bias " << n;
    }
  }
  for (const auto& name : q.tensors().tensor_names()) EXPECT_EQ(name.find("_scales"), std::string::npos) << name;

  const MoeCheckpoint mx(dir.file("mx"));
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    const MoeConfig c = mx.moe_config(0, mode, 16);
    EXPECT_EQ(c.activation.kind, Activation::kSwigluOai);
    auto direct = make_moe_layer(c, Backend::kCpu), converted = make_moe_layer(c, Backend::kCpu);
    const LoadReport loaded = load_moe_layer(mx, 0, *direct);
    EXPECT_EQ(loaded.experts, E);
    EXPECT_EQ(loaded.inexact_blocks, 0);
    load_moe_layer(q, 0, *converted);
    testing::Rng rng(12);
    const auto xs = testing::random_bf16(size_t(16) * H, rng);
    const auto routing = testing::uniform_routing(16, int(E), c.top_k, rng);
    const std::vector<bf16> a = testing::run_forward(*direct, xs, routing);
    const std::vector<bf16> b = testing::run_forward(*converted, xs, routing);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(bf16)), 0) << to_string(mode);
  }
}

// With --calib, an MXFP4 layer's input scales are those of the same weights as BF16 (MXFP4's values are
// exact in BF16): every token through every expert of the dequantized, de-interleaved projections and
// their biases.
TEST(QuantizeCheckpoint, GptOssMxfp4CalibratedInputScales) {
  TempDir dir;
  const int64_t E = testing::kMxfp4Experts, H = testing::kMxfp4Hidden, I = testing::kMxfp4Intermediate;
  testing::write_gpt_oss_mxfp4_checkpoint(dir.file("mx"), 35);
  {
    testing::Rng rng(36);
    SafetensorsWriter w;
    w.add_owned("activations", DType::kBF16, {16, H}, random_bf16_bytes(16 * H, rng));
    w.write(dir.file("calib.safetensors"));
  }
  // The same experts, decoded here from the raw tensors (gate the even rows of gate_up_proj, up the odd
  // ones, its bias alike), written as ModelOpt-named fused BF16.
  const SafetensorsCheckpoint src(dir.file("mx"));
  const std::string p = "model.layers.0.mlp.experts.";
  const uint8_t* gu_blocks = src.tensor(p + "gate_up_proj_blocks").data;
  const uint8_t* gu_scales = src.tensor(p + "gate_up_proj_scales").data;
  const uint8_t* d_blocks = src.tensor(p + "down_proj_blocks").data;
  const uint8_t* d_scales = src.tensor(p + "down_proj_scales").data;
  const std::vector<float> gu_bias = read_float_tensor(src.tensor(p + "gate_up_proj_bias"));
  const std::vector<float> d_bias = read_float_tensor(src.tensor(p + "down_proj_bias"));
  testing::GptOssExperts x;
  x.experts = int(E), x.hidden = int(H), x.intermediate = int(I);
  const auto push = [](std::vector<bf16>& v, float value) {
    ASSERT_EQ(bf16_to_float(float_to_bf16(value)), value) << "MXFP4 values and BF16 biases are exact in BF16";
    v.push_back(float_to_bf16(value));
  };
  for (int64_t e = 0; e < E; ++e) {
    for (int64_t n = 0; n < I; ++n) {
      for (int64_t c = 0; c < H; ++c) {
        push(x.gate, mxfp4_value(gu_blocks, gu_scales, e * 2 * I + 2 * n, H, c));
        push(x.up, mxfp4_value(gu_blocks, gu_scales, e * 2 * I + 2 * n + 1, H, c));
      }
      push(x.gate_bias, gu_bias[size_t(e * 2 * I + 2 * n)]);
      push(x.up_bias, gu_bias[size_t(e * 2 * I + 2 * n + 1)]);
    }
    for (int64_t n = 0; n < H; ++n) {
      for (int64_t c = 0; c < I; ++c) push(x.down, mxfp4_value(d_blocks, d_scales, e * H + n, I, c));
      push(x.down_bias, d_bias[size_t(e * H + n)]);
    }
  }
  testing::write_gpt_oss_checkpoint(dir.file("bf16"), x, testing::GptOssLayout::kFused);
  QuantizeCheckpointOptions o;
  o.calibration = dir.file("calib.safetensors");
  quantize_checkpoint(dir.file("mx"), dir.file("mx-out"), o);
  quantize_checkpoint(dir.file("bf16"), dir.file("bf16-out"), o);
  const SafetensorsCheckpoint a(dir.file("mx-out")), b(dir.file("bf16-out"));
  int compared = 0;
  for (const auto& name : b.tensor_names()) {
    if (name.find("input_scale") == std::string::npos) continue;
    EXPECT_EQ(scalar(a.tensor(name)), scalar(b.tensor(name))) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 3 * E);
}

// Exponents 21 octaves apart: the blocks beyond E4M3's reach are counted; a NaN (255) or overflowing
// scale is rejected naming the tensor and its element, before anything is written; and MXFP4 experts
// of another model type are not guessed at.
TEST(QuantizeCheckpoint, GptOssMxfp4WideSpansAndBadScales) {
  TempDir dir;
  testing::write_gpt_oss_mxfp4_checkpoint(dir.file("wide"), 32, -24, -3);
  const QuantizeCheckpointReport r = quantize_checkpoint(dir.file("wide"), dir.file("wide-out"));
  EXPECT_GT(r.inexact_blocks, 0);

  for (const uint8_t bad : {uint8_t(255), uint8_t(253)}) {
    const std::string in = dir.file("bad" + std::to_string(bad));
    testing::write_gpt_oss_mxfp4_checkpoint(in, 33);
    std::string bytes = testing::read_file(in + "/model.safetensors");
    const SafetensorsFile f(in + "/model.safetensors");
    const TensorView v = f.tensor("model.layers.0.mlp.experts.down_proj_scales");
    bytes[size_t(v.data - f.mapping()) + 64 + 1] = char(bad);  // expert 1, row 1, block 0 (H = 64 rows of 1)
    testing::write_file(in + "/model.safetensors", bytes);
    expect_error([&] { quantize_checkpoint(in, in + "-out"); },
                 "tensor 'model.layers.0.mlp.experts.down_proj_scales': expected E8M0 scales of finite weights (at "
                 "most 252, 2^125; 255 is NaN), got " +
                     std::to_string(bad) + " at [1, 1, 0]");
    EXPECT_FALSE(fs::exists(in + "-out")) << int(bad);
  }

  const std::string other = dir.file("other");
  testing::write_gpt_oss_mxfp4_checkpoint(other, 34);
  nlohmann::json config = nlohmann::json::parse(testing::read_file(other + "/config.json"));
  config["model_type"] = "mixtral";
  testing::write_json(other + "/config.json", config);
  EXPECT_EQ(MoeCheckpoint(other).moe_layer(0).problem,
            "MXFP4 experts (model.layers.0.mlp.experts.gate_up_proj_blocks) of model_type 'mixtral': their gate and "
            "up rows are known to interleave for gpt_oss only");
}

TEST(QuantizeCheckpoint, RejectsBadBiasesWritingNothing) {
  TempDir dir;
  const std::string in = dir.file("bf16");
  testing::write_tiny_bf16_checkpoint(in, true);
  const std::string name = "model.layers.1.mlp.experts.2.up_proj.bias";
  {
    std::string bytes = testing::read_file(in + "/model.safetensors");
    const SafetensorsFile f(in + "/model.safetensors");
    const size_t offset = size_t(f.tensor(name).data - f.mapping()) + 3 * 2;
    bytes[offset] = char(0xC0);
    bytes[offset + 1] = char(0x7F);
    testing::write_file(in + "/model.safetensors", bytes);
  }
  expect_error([&] { quantize_checkpoint(in, dir.file("out")); },
               "tensor '" + name + "': expected finite biases, got nan at [3]");
  EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(QuantizeCheckpoint, RejectsQuantizedInputAndNanWeightsWritingNothing) {
  TempDir dir;
  expect_error([&] { quantize_checkpoint(kTiny, dir.file("out")); },
               "config.json: quant_algo: expected an unquantized checkpoint, or gpt-oss's MXFP4 one, got NVFP4");
  EXPECT_FALSE(fs::exists(dir.file("out")));

  const std::string in = dir.file("bf16");
  testing::write_tiny_bf16_checkpoint(in);
  {
    // Put a NaN into one expert's down_proj.
    std::string bytes = testing::read_file(in + "/model.safetensors");
    const SafetensorsFile f(in + "/model.safetensors");
    const TensorView v = f.tensor("model.layers.1.mlp.experts.2.down_proj.weight");
    const size_t offset = size_t(v.data - f.mapping()) + 10;
    bytes[offset] = char(0xC0);
    bytes[offset + 1] = char(0x7F);
    testing::write_file(in + "/model.safetensors", bytes);
  }
  expect_error([&] { quantize_checkpoint(in, dir.file("out2")); },
               "tensor 'model.layers.1.mlp.experts.2.down_proj.weight': expected finite weights, got NaN or Inf");
  EXPECT_FALSE(fs::exists(dir.file("out2/model.safetensors")));
}

}  // namespace
}  // namespace fp4moe
