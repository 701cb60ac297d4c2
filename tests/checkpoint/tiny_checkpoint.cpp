// Generates the tiny BF16 checkpoint. The up projections are drawn 4x wider than gate so that
// gate and up get clearly different weight_scale_2 once quantized (the case spec section 4 makes exact).
#include "checkpoint/tiny_checkpoint.h"

#include <filesystem>
#include <map>

#include "checkpoint/checkpoint_files.h"
#include "common/compare.h"
#include "common/random_inputs.h"
#include "common/rng.h"
#include "common/run_layer.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::testing {
namespace {

std::vector<uint8_t> random_bf16_bytes(int64_t n, double scale, Rng& rng) {
  std::vector<uint8_t> bytes(size_t(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    const bf16 v = float_to_bf16(float(rng.normal() * scale));
    bytes[size_t(2 * i)] = uint8_t(v.bits & 0xFF);
    bytes[size_t(2 * i + 1)] = uint8_t(v.bits >> 8);
  }
  return bytes;
}

void add_bf16(SafetensorsWriter& w, const std::string& name, std::vector<int64_t> shape, double scale, Rng& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  w.add_owned(name, DType::kBF16, shape, random_bf16_bytes(n, scale, rng));
}

}  // namespace

void write_tiny_bf16_checkpoint(const std::string& dir, bool with_biases) {
  std::filesystem::create_directories(dir);
  constexpr int kVocab = 16, H = kTinyHidden, I = kTinyIntermediate;
  Rng rng(20240611);
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  add_bf16(w, "model.embed_tokens.weight", {kVocab, H}, 1.0, rng);
  add_bf16(w, "lm_head.weight", {kVocab, H}, 0.1, rng);
  add_bf16(w, "model.norm.weight", {H}, 1.0, rng);
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    add_bf16(w, p + "input_layernorm.weight", {H}, 1.0, rng);
    add_bf16(w, p + "self_attn.q_proj.weight", {H, H}, 0.1, rng);
  }
  add_bf16(w, "model.layers.0.mlp.gate_proj.weight", {I, H}, 0.1, rng);
  add_bf16(w, "model.layers.0.mlp.up_proj.weight", {I, H}, 0.1, rng);
  add_bf16(w, "model.layers.0.mlp.down_proj.weight", {H, I}, 0.1, rng);
  add_bf16(w, "model.layers.1.mlp.gate.weight", {kTinyExperts, H}, 0.3, rng);
  for (int e = 0; e < kTinyExperts; ++e) {
    const std::string p = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    add_bf16(w, p + "gate_proj.weight", {I, H}, 0.1, rng);
    add_bf16(w, p + "up_proj.weight", {I, H}, 0.4, rng);
    add_bf16(w, p + "down_proj.weight", {H, I}, 0.1, rng);
  }
  Rng bias_rng(20250101);
  for (int e = 0; e < kTinyExperts && with_biases; ++e) {
    const std::string p = "model.layers.1.mlp.experts." + std::to_string(e) + ".";
    add_bf16(w, p + "gate_proj.bias", {I}, 0.3, bias_rng);
    add_bf16(w, p + "up_proj.bias", {I}, 0.3, bias_rng);
    add_bf16(w, p + "down_proj.bias", {H}, 0.3, bias_rng);
  }
  w.write(dir + "/model.safetensors");

  write_json(dir + "/config.json", {{"architectures", {"Qwen3MoeForCausalLM"}},
                                    {"model_type", "qwen3_moe"},
                                    {"hidden_size", H},
                                    {"intermediate_size", I},
                                    {"moe_intermediate_size", I},
                                    {"num_hidden_layers", 2},
                                    {"mlp_only_layers", {0}},
                                    {"num_experts", kTinyExperts},
                                    {"num_experts_per_tok", 2},
                                    {"norm_topk_prob", true},
                                    {"hidden_act", "silu"},
                                    {"vocab_size", kVocab},
                                    {"torch_dtype", "bfloat16"}});
  write_json(dir + "/tokenizer_config.json", {{"model_max_length", 64}});
}

GptOssExperts make_gpt_oss_experts(uint64_t seed) {
  GptOssExperts x;
  const size_t E = size_t(x.experts), H = size_t(x.hidden), I = size_t(x.intermediate);
  Rng rng(seed);
  const auto draw = [&](size_t n, double scale) {
    std::vector<bf16> v(n);
    for (auto& b : v) b = float_to_bf16(float(rng.normal() * scale));
    return v;
  };
  x.gate = draw(E * I * H, 0.1);
  x.up = draw(E * I * H, 0.4);
  x.down = draw(E * H * I, 0.1);
  x.gate_bias = draw(E * I, 0.3);
  x.up_bias = draw(E * I, 0.3);
  x.down_bias = draw(E * H, 0.3);
  return x;
}

namespace {

enum class Family { kGptOss, kLlama4 };

// gpt-oss's layer 0 (mlp.experts, biases, a router with a bias) or Llama-4's (feed_forward.experts, no
// biases, a router without one), in transformers' bare layout or ModelOpt-named fused BF16. The two
// differ in how a bare gate_up_proj holds gate and up: interleaved (gpt-oss) or as halves (Llama-4).
void write_experts_checkpoint(const std::string& dir, const GptOssExperts& x, Family family, GptOssLayout layout,
                              std::vector<int64_t> down_shape) {
  std::filesystem::create_directories(dir);
  const int64_t E = x.experts, H = x.hidden, I = x.intermediate;
  const bool hf = layout == GptOssLayout::kHf, gpt_oss = family == Family::kGptOss;
  const auto bytes = [](const std::vector<bf16>& v) {
    std::vector<uint8_t> b(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      b[2 * i] = uint8_t(v[i].bits & 0xFF);
      b[2 * i + 1] = uint8_t(v[i].bits >> 8);
    }
    return b;
  };
  // Where gate j and up j go among a bare gate_up_proj's 2I columns, or among its bias's 2I elements.
  const auto gate_column = [&](int64_t j) { return hf && gpt_oss ? 2 * j : j; };
  const auto up_column = [&](int64_t j) { return hf && gpt_oss ? 2 * j + 1 : I + j; };
  std::vector<bf16> gate_up(size_t(E * 2 * I * H)), gate_up_bias(size_t(E * 2 * I)), down(size_t(E * H * I));
  for (int64_t e = 0; e < E; ++e) {
    for (int64_t j = 0; j < I; ++j) {
      for (int64_t k = 0; k < H; ++k) {
        const bf16 g = x.gate[size_t((e * I + j) * H + k)], u = x.up[size_t((e * I + j) * H + k)];
        if (hf) {
          gate_up[size_t((e * H + k) * 2 * I + gate_column(j))] = g;
          gate_up[size_t((e * H + k) * 2 * I + up_column(j))] = u;
        } else {
          gate_up[size_t((e * 2 * I + j) * H + k)] = g;
          gate_up[size_t((e * 2 * I + I + j) * H + k)] = u;
        }
      }
      gate_up_bias[size_t(e * 2 * I + gate_column(j))] = x.gate_bias[size_t(e * I + j)];
      gate_up_bias[size_t(e * 2 * I + up_column(j))] = x.up_bias[size_t(e * I + j)];
    }
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < I; ++i)
        down[size_t(hf ? (e * I + i) * H + h : (e * H + h) * I + i)] = x.down[size_t((e * H + h) * I + i)];
  }
  const std::string p = gpt_oss ? "model.layers.0.mlp." : "language_model.model.layers.0.feed_forward.";
  if (down_shape.empty()) down_shape = hf ? std::vector<int64_t>{E, I, H} : std::vector<int64_t>{E, H, I};
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  Rng rng(99);
  add_bf16(w, p + "router.weight", {E, H}, 0.3, rng);
  if (gpt_oss) add_bf16(w, p + "router.bias", {E}, 0.3, rng);  // gpt-oss's router Linear has one
  w.add_owned(p + (hf ? "experts.gate_up_proj" : "experts.gate_up_proj.weight"), DType::kBF16,
              hf ? std::vector<int64_t>{E, H, 2 * I} : std::vector<int64_t>{E, 2 * I, H}, bytes(gate_up));
  w.add_owned(p + (hf ? "experts.down_proj" : "experts.down_proj.weight"), DType::kBF16, down_shape, bytes(down));
  if (gpt_oss) {
    w.add_owned(p + "experts.gate_up_proj_bias", DType::kBF16, {E, 2 * I}, bytes(gate_up_bias));
    w.add_owned(p + "experts.down_proj_bias", DType::kBF16, {E, H}, bytes(x.down_bias));
  }
  w.write(dir + "/model.safetensors");
  if (gpt_oss) {
    write_gpt_oss_config(dir, E, H, I);
    return;
  }
  write_json(dir + "/config.json", {{"architectures", {"Llama4ForConditionalGeneration"}},
                                    {"model_type", "llama4"},
                                    {"text_config",
                                     {{"model_type", "llama4_text"},
                                      {"hidden_size", H},
                                      {"intermediate_size", I},
                                      {"intermediate_size_mlp", 2 * I},
                                      {"num_hidden_layers", 1},
                                      {"num_local_experts", E},
                                      {"num_experts_per_tok", 1},
                                      {"hidden_act", "silu"},
                                      {"interleave_moe_layer_step", 1}}},
                                    {"torch_dtype", "bfloat16"}});
}

}  // namespace

void write_gpt_oss_checkpoint(const std::string& dir, const GptOssExperts& x, GptOssLayout layout,
                              std::vector<int64_t> down_shape) {
  write_experts_checkpoint(dir, x, Family::kGptOss, layout, std::move(down_shape));
}

void write_llama4_checkpoint(const std::string& dir, const GptOssExperts& x, GptOssLayout layout) {
  write_experts_checkpoint(dir, x, Family::kLlama4, layout, {});
}

void write_gpt_oss_mxfp4_checkpoint(const std::string& dir, uint64_t seed, int lo, int hi) {
  std::filesystem::create_directories(dir);
  const int64_t E = kMxfp4Experts, H = kMxfp4Hidden, I = kMxfp4Intermediate;
  Rng rng(seed);
  const auto blocks = [&](int64_t rows, int64_t k) {
    std::vector<uint8_t> b(size_t(E * rows * k / 2));
    rng.fill_bytes(b.data(), b.size());
    return b;
  };
  const auto scales = [&](int64_t rows, int64_t k) {
    std::vector<uint8_t> s(size_t(E * rows * k / 32));
    for (uint8_t& v : s) v = uint8_t(127 + lo + rng.below(hi - lo + 1));
    return s;
  };
  const std::string p = "model.layers.0.mlp.";
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  add_bf16(w, p + "router.weight", {E, H}, 0.3, rng);
  add_bf16(w, p + "router.bias", {E}, 0.3, rng);
  w.add_owned(p + "experts.gate_up_proj_blocks", DType::kU8, {E, 2 * I, H / 32, 16}, blocks(2 * I, H));
  w.add_owned(p + "experts.gate_up_proj_scales", DType::kU8, {E, 2 * I, H / 32}, scales(2 * I, H));
  add_bf16(w, p + "experts.gate_up_proj_bias", {E, 2 * I}, 0.3, rng);
  w.add_owned(p + "experts.down_proj_blocks", DType::kU8, {E, H, I / 32, 16}, blocks(H, I));
  w.add_owned(p + "experts.down_proj_scales", DType::kU8, {E, H, I / 32}, scales(H, I));
  add_bf16(w, p + "experts.down_proj_bias", {E, H}, 0.3, rng);
  w.write(dir + "/model.safetensors");
  write_gpt_oss_config(dir, E, H, I);
  nlohmann::json config = nlohmann::json::parse(read_file(dir + "/config.json"));
  config["quantization_config"] = {
      {"quant_method", "mxfp4"},
      {"modules_to_not_convert", {"model.layers.*.self_attn", "model.layers.*.mlp.router"}}};
  write_json(dir + "/config.json", config);
}

void write_gpt_oss_config(const std::string& dir, int64_t experts, int64_t hidden, int64_t intermediate) {
  write_json(dir + "/config.json", {{"architectures", {"GptOssForCausalLM"}},
                                    {"model_type", "gpt_oss"},
                                    {"hidden_size", hidden},
                                    {"intermediate_size", intermediate},
                                    {"num_hidden_layers", 1},
                                    {"num_local_experts", experts},
                                    {"num_experts_per_tok", 2},
                                    {"swiglu_limit", 7.0},
                                    {"torch_dtype", "bfloat16"}});
}

void write_tiny_calibration(const std::string& path) {
  Rng rng(7);
  SafetensorsWriter w;
  add_bf16(w, "activations", {16, kTinyHidden}, 1.0, rng);
  w.write(path);
}

double loaded_layer_error(const MoeCheckpoint& ckpt, int layer, QuantMode mode) {
  const MoeConfig c = ckpt.moe_config(layer, mode, 16);
  auto cpu_layer = make_moe_layer(c, Backend::kCpu);
  load_moe_layer(ckpt, layer, *cpu_layer);
  Rng rng(9);
  const auto x = random_bf16(size_t(16) * c.hidden, rng);
  const auto routing = uniform_routing(16, c.num_experts, c.top_k, rng);
  return rel_error(run_forward(*cpu_layer, x, routing), run_reference(*cpu_layer, x, routing));
}

}  // namespace fp4moe::testing
