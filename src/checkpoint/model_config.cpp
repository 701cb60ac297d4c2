// config.json -> MoeModelConfig. Model families name the same fields differently:
//   experts:      n_routed_experts (DeepSeek) | num_experts (Qwen3-MoE) | num_local_experts (Mixtral, Llama-4, gpt-oss)
//   expert width: moe_intermediate_size (DeepSeek, Qwen3-MoE) | intermediate_size (Mixtral, Llama-4, gpt-oss)
//   activation:   gpt-oss -> swiglu_oai; a swiglu_limit elsewhere (DeepSeek-V4) -> silu_clamped; else hidden_act
//   router:       gpt-oss -> topk_softmax; Llama-4 -> topk_sigmoid, its weights applied to the input; then
//                 scoring_func (DeepSeek, Kimi and GLM-4.5 default to sigmoid, the rest to softmax): sigmoid ->
//                 sigmoid_grouped_topk (n_group, topk_group, routed_scaling_factor); softmax -> softmax_topk,
//                 renormalized when norm_topk_prob (Mixtral: always); what route() cannot compute is marked so
// Llama-4 keeps the text model's fields under "text_config".
#include "fp4moe/checkpoint/model_config.h"

#include <filesystem>
#include <initializer_list>

#include "checkpoint/json_file.h"
#include "fp4moe/error.h"

namespace fp4moe {
namespace {

class ConfigFields {
 public:
  ConfigFields(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {}

  const nlohmann::json* find(std::initializer_list<const char*> names) const {
    for (const char* n : names)
      if (j_.contains(n) && !j_[n].is_null()) return &j_[n];
    return nullptr;
  }

  int positive_int(std::initializer_list<const char*> names) const {
    const nlohmann::json* v = find(names);
    require(v != nullptr, path_, names_of(names), "a positive integer field", "missing");
    require(v->is_number_integer() && v->get<int64_t>() > 0 && v->get<int64_t>() <= (1 << 30), path_, names_of(names),
            "a positive integer", v->dump());
    return v->get<int>();
  }

  int int_or(const char* name, int fallback) const {
    const nlohmann::json* v = find({name});
    if (!v) return fallback;
    require(v->is_number_integer(), path_, name, "an integer", v->dump());
    return v->get<int>();
  }

  double number_or(const char* name, double fallback) const {
    const nlohmann::json* v = find({name});
    if (!v) return fallback;
    require(v->is_number(), path_, name, "a number", v->dump());
    return v->get<double>();
  }

  bool bool_or(const char* name, bool fallback) const {
    const nlohmann::json* v = find({name});
    if (!v) return fallback;
    require(v->is_boolean(), path_, name, "true or false", v->dump());
    return v->get<bool>();
  }

  std::string string_or(const char* name, const std::string& fallback) const {
    const nlohmann::json* v = find({name});
    if (!v) return fallback;
    require(v->is_string(), path_, name, "a string", v->dump());
    return v->get<std::string>();
  }

  const std::string& path() const { return path_; }

 private:
  static std::string names_of(std::initializer_list<const char*> names) {
    std::string s;
    for (const char* n : names) s += (s.empty() ? "" : " | ") + std::string(n);
    return s;
  }
  const nlohmann::json& j_;
  std::string path_;
};

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

ActivationSpec read_activation(const ConfigFields& f, const std::string& model_type) {
  ActivationSpec spec;
  if (starts_with(model_type, "gpt_oss")) {
    spec.kind = Activation::kSwigluOai;
    spec.limit = float(f.number_or("swiglu_limit", 7.0));
    return spec;
  }
  if (f.find({"swiglu_limit"})) {
    spec.kind = Activation::kSiluClamped;
    spec.limit = float(f.number_or("swiglu_limit", 0.0));
    require(spec.limit > 0.0f, f.path(), "swiglu_limit", "a positive number", std::to_string(spec.limit));
    return spec;
  }
  const std::string act = f.string_or("hidden_act", "silu");
  if (act == "silu" || act == "swish") {
    spec.kind = Activation::kSilu;
  } else if (act == "gelu_pytorch_tanh" || act == "gelu_tanh" || act == "gelu_new") {
    spec.kind = Activation::kGeluTanh;
  } else {
    require(false, f.path(), "hidden_act", "silu, swish, gelu_pytorch_tanh, gelu_tanh or gelu_new", act);
  }
  return spec;
}

// The router as config.json describes it: gpt-oss's and Llama-4's by their model type, the others by
// scoring_func where given, else by family (DeepSeek-V3 and later, Kimi, GLM-4.5: sigmoid scores with a
// correction bias; the rest softmax). A router fp4moe::route does not compute exactly leaves routing_known
// false, with the reason.
void read_routing(const ConfigFields& f, MoeModelConfig& c) {
  RoutingParams& r = c.routing;
  r.top_k = c.top_k;
  c.routing_known = true;
  const auto not_implemented = [&](const std::string& why) {
    c.routing_known = false;
    c.routing_note = why + ", which fp4moe::route does not implement";
  };
  const std::string& t = c.model_type;
  if (starts_with(t, "gpt_oss")) {
    r.method = RoutingMethod::kTopkSoftmax;
    return;
  }
  if (starts_with(t, "llama4")) {
    r.method = RoutingMethod::kTopkSigmoid;
    c.router_weight_on_input = true;
    return;
  }
  const bool sigmoid_family = starts_with(t, "deepseek") || starts_with(t, "kimi") || starts_with(t, "glm4_moe");
  const std::string scoring = f.string_or("scoring_func", sigmoid_family ? "sigmoid" : "softmax");
  const double scale = f.number_or("routed_scaling_factor", 1.0);
  if (scoring == "sigmoid") {
    r.method = RoutingMethod::kSigmoidGroupedTopk;
    r.num_groups = f.int_or("n_group", 1);
    r.topk_group = f.int_or("topk_group", 1);
    r.routed_scaling_factor = float(scale);
    if (!f.bool_or("norm_topk_prob", true))
      not_implemented("sigmoid scores without renormalisation (norm_topk_prob false)");
    return;
  }
  if (scoring != "softmax") return not_implemented("scoring_func '" + scoring + "'");
  r.method = RoutingMethod::kSoftmaxTopk;
  r.renormalize = f.bool_or("norm_topk_prob", starts_with(t, "mixtral"));
  const std::string topk_method = f.string_or("topk_method", "greedy");
  if (topk_method != "greedy" && f.int_or("n_group", 1) > 1)
    not_implemented("softmax scores chosen by groups (DeepSeek-V2's topk_method " + topk_method + ")");
  else if (scale != 1.0)
    not_implemented("softmax weights scaled by routed_scaling_factor " + std::to_string(scale));
}

void read_string_list(const nlohmann::json& j, const std::string& path, const char* name,
                      std::vector<std::string>& out) {
  if (!j.contains(name) || j[name].is_null()) return;
  require(j[name].is_array(), path, name, "a list of module names", j[name].dump());
  for (const auto& m : j[name]) {
    require(m.is_string(), path, name, "a list of module names", j[name].dump());
    out.push_back(m.get<std::string>());
  }
}

// compressed-tensors (llm-compressor's exports) writes config.json "quantization_config" {"quant_method":
// "compressed-tensors", "format": ..., "config_groups": {NAME: {"format": ..., "weights": {"group_size": ...},
// ...}}, "ignore": [...]}. Its NVFP4 is the format "nvfp4-pack-quantized" (4-bit float weights in groups of
// 16), for the whole model or, under "mixed-precision", for the groups that name it (the experts NVFP4, say,
// attention FP8); the group size is those groups'. Any other format (FP8, INT4) is named in quant_algo,
// which the loader then rejects by name.
void read_compressed_tensors(const nlohmann::json& recipe, const std::string& path, MoeModelConfig& c) {
  constexpr const char* kNvfp4 = "nvfp4-pack-quantized";
  const std::string format = ConfigFields(recipe, path).string_or("format", "");
  c.quant_format = "compressed-tensors";
  bool nvfp4 = format == kNvfp4;
  if (recipe.contains("config_groups") && recipe["config_groups"].is_object()) {
    for (const auto& [name, group] : recipe["config_groups"].items()) {
      if (!group.is_object()) continue;
      if (ConfigFields(group, path).string_or("format", format) != kNvfp4) continue;
      nvfp4 = true;
      if (!group.contains("weights") || !group["weights"].is_object()) continue;
      const int size = ConfigFields(group["weights"], path).int_or("group_size", 0);
      require(c.group_size == 0 || size == c.group_size, path, "config_groups." + name + ".weights.group_size",
              "one group size in every NVFP4 group (" + std::to_string(c.group_size) + ")", size);
      c.group_size = size;
    }
  }
  c.quant_algo = nvfp4 ? "NVFP4" : "compressed-tensors " + (format.empty() ? "(no format)" : format);
  read_string_list(recipe, path, "ignore", c.exclude_modules);
}

// ModelOpt writes the recipe to hf_quant_config.json {"quantization": {...}}; newer exports also
// (or only) put it in config.json "quantization_config" with quant_method "modelopt".
void read_quantization(const std::string& dir, const nlohmann::json& config, MoeModelConfig& c) {
  const std::string hf_path = (std::filesystem::path(dir) / "hf_quant_config.json").string();
  nlohmann::json recipe;
  std::string path;
  if (std::filesystem::exists(hf_path)) {
    const nlohmann::json hf = read_json_file(hf_path);
    require(hf.is_object() && hf.contains("quantization") && hf["quantization"].is_object(), hf_path, "quantization",
            "an object", "missing");
    recipe = hf["quantization"];
    path = hf_path;
  } else if (config.contains("quantization_config") && config["quantization_config"].is_object()) {
    recipe = config["quantization_config"];
    path = c.config_path;
  } else {
    return;
  }
  const ConfigFields f(recipe, path);
  const std::string method = f.string_or("quant_method", "");
  if (method == "compressed-tensors") return read_compressed_tensors(recipe, path, c);
  if (method == "mxfp4") {  // gpt-oss's own checkpoints: the experts in MXFP4, the rest BF16
    c.quant_format = "mxfp4";
    c.quant_algo = "MXFP4";
    c.group_size = 32;
    read_string_list(recipe, path, "modules_to_not_convert", c.exclude_modules);
    return;
  }
  c.quant_format = "modelopt";
  c.quant_algo = f.string_or("quant_algo", "");
  c.group_size = f.int_or("group_size", c.quant_algo == "NVFP4" ? 16 : 0);
  read_string_list(recipe, path, "exclude_modules", c.exclude_modules);
  if (c.exclude_modules.empty()) read_string_list(recipe, path, "ignore", c.exclude_modules);
}

}  // namespace

MoeModelConfig read_model_config(const std::string& dir) {
  MoeModelConfig c;
  c.config_path = (std::filesystem::path(dir) / "config.json").string();
  const nlohmann::json root = read_json_file(c.config_path);
  require(root.is_object(), c.config_path, "config", "a JSON object", std::string(root.type_name()));
  const bool nested = root.contains("text_config") && root["text_config"].is_object();
  const nlohmann::json& text = nested ? root["text_config"] : root;
  const ConfigFields f(text, c.config_path);

  c.model_type = f.string_or("model_type", ConfigFields(root, c.config_path).string_or("model_type", ""));
  c.hidden = f.positive_int({"hidden_size"});
  c.intermediate = f.positive_int({"moe_intermediate_size", "intermediate_size"});
  c.num_experts = f.positive_int({"n_routed_experts", "num_experts", "num_local_experts"});
  c.top_k = f.positive_int({"num_experts_per_tok"});
  c.activation = read_activation(f, c.model_type);
  read_routing(f, c);
  read_quantization(dir, root, c);
  return c;
}

}  // namespace fp4moe
