// Finding the MoE layers of a checkpoint from its tensor names, and naming each layer's tensors.
// Names are parsed, not matched against one model's template, so the naming variants of
// include/fp4moe/checkpoint/modelopt.h (per-expert or fused, gate_proj or w1 or w13, '.' or '_'
// before the suffix, biases or none, ModelOpt's or compressed-tensors' suffixes) are all found by the
// same scan. Bare (suffix-less) parameters
// are Hugging Face transformers' layout: only its gpt-oss and Llama-4 forms are recognised (is_hf_layout,
// hf_gate_up_columns).
#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/error.h"
#include "fp4moe/format/mxfp4.h"

namespace fp4moe {
namespace {

constexpr std::string_view kExperts = ".experts";
// ModelOpt's suffixes, compressed-tensors' (weight_packed, weight_global_scale, input_global_scale) and
// gpt-oss's MXFP4 ones (blocks, scales). The '_' form is matched in this order: a longer suffix before one
// it ends with.
constexpr std::array<std::string_view, 10> kSuffixes = {"weight_global_scale", "input_global_scale", "weight_scale_2",
                                                        "weight_scale", "weight_packed", "input_scale", "weight",
                                                        "bias", "blocks", "scales"};

struct ProjectionNames {
  std::string_view gate, up, down;
  bool fused_gate_up;
};
constexpr std::array<ProjectionNames, 4> kProjectionNames = {{
    {"gate_proj", "up_proj", "down_proj", false},
    {"w1", "w3", "w2", false},
    {"gate_up_proj", "gate_up_proj", "down_proj", true},
    {"w13", "w13", "w2", true},
}};

// What the scan collects for one ".experts" prefix.
struct PrefixScan {
  int layer = -1;
  std::set<int> experts;                                  // per-expert tensors seen
  std::map<std::string, std::set<std::string>> suffixes;  // projection -> suffixes
  std::map<std::string, std::set<char>> bias_separators;  // projection -> '.' and/or '_' before "bias"
  bool per_expert = false, fused = false;
  char separator = '.';
  int num_tensors = 0;
  uint64_t bytes = 0;
};

// "model.layers.12.mlp" -> 12; -1 when there is no ".layers.N" / "layers.N" component.
int layer_index(std::string_view prefix) {
  size_t pos = prefix.rfind("layers.");
  while (pos != std::string_view::npos && pos > 0 && prefix[pos - 1] != '.') pos = prefix.rfind("layers.", pos - 1);
  if (pos == std::string_view::npos) return -1;
  size_t i = pos + 7;
  int value = 0, digits = 0;
  for (; i < prefix.size() && std::isdigit(static_cast<unsigned char>(prefix[i])) && digits < 9; ++i, ++digits)
    value = value * 10 + (prefix[i] - '0');
  const bool ends = i == prefix.size() || prefix[i] == '.';
  return digits > 0 && ends ? value : -1;
}

bool parse_expert_number(std::string_view s, int* expert, size_t* length) {
  size_t i = 0;
  int value = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i < 9; ++i)
    value = value * 10 + (s[i] - '0');
  if (i == 0 || i >= s.size() || s[i] != '.') return false;
  *expert = value;
  *length = i;
  return true;
}

// "gate_proj.weight" -> (gate_proj, weight, '.'); "w13_weight_scale" -> (w13, weight_scale, '_').
bool split_projection(std::string_view rest, std::string* projection, std::string* suffix, char* separator) {
  const size_t dot = rest.find('.');
  if (dot != std::string_view::npos) {
    *projection = rest.substr(0, dot);
    *suffix = rest.substr(dot + 1);
    *separator = '.';
    return true;
  }
  for (std::string_view s : kSuffixes) {
    if (rest.size() > s.size() + 1 && rest.substr(rest.size() - s.size()) == s &&
        rest[rest.size() - s.size() - 1] == '_') {
      *projection = rest.substr(0, rest.size() - s.size() - 1);
      *suffix = s;
      *separator = '_';
      return true;
    }
  }
  return false;
}

void scan_name(const std::string& name, const TensorInfo& info, std::map<std::string, PrefixScan>& scans) {
  const size_t pos = name.find(std::string(kExperts) + ".");
  if (pos == std::string::npos) return;
  const std::string prefix = name.substr(0, pos + kExperts.size());
  const int layer = layer_index(std::string_view(prefix).substr(0, pos));
  if (layer < 0) return;
  PrefixScan& scan = scans[prefix];
  scan.layer = layer;
  scan.num_tensors += 1;
  scan.bytes += info.bytes();

  std::string_view rest = std::string_view(name).substr(pos + kExperts.size() + 1);
  int expert = 0;
  size_t length = 0;
  if (parse_expert_number(rest, &expert, &length)) {
    scan.per_expert = true;
    scan.experts.insert(expert);
    rest.remove_prefix(length + 1);
  } else {
    scan.fused = true;
  }
  std::string projection, suffix;
  char separator = '.';
  if (!split_projection(rest, &projection, &suffix, &separator)) {
    projection = rest;  // a bare parameter ("experts.gate_up_proj"): reported by describe()
    suffix.clear();
  }
  scan.suffixes[projection].insert(suffix);
  // A bias's separator is its own: gpt-oss style names put "_bias" next to ".weight" tensors.
  if (suffix == "bias")
    scan.bias_separators[projection].insert(separator);
  else if (separator == '_')
    scan.separator = '_';
}

const ProjectionNames* pick_projection_names(const PrefixScan& scan) {
  for (const auto& names : kProjectionNames) {
    if (scan.suffixes.count(std::string(names.gate)) && scan.suffixes.count(std::string(names.up)) &&
        scan.suffixes.count(std::string(names.down)))
      return &names;
  }
  return nullptr;
}

std::string projections_seen(const PrefixScan& scan) {
  std::string s;
  for (const auto& [projection, suffixes] : scan.suffixes) s += (s.empty() ? "" : ", ") + projection;
  return s.empty() ? "none" : s;
}

// Sizes from the gate (or fused gate_up) and down weights of expert 0: [.., N, K] (U8: [.., N, K/2]).
void read_sizes(const SafetensorsCheckpoint& tensors, MoeLayerTensors& t) {
  const std::string gate_name = t.tensor_name(ExpertProjection::kGate, 0, "weight");
  const std::string down_name = t.tensor_name(ExpertProjection::kDown, 0, "weight");
  const TensorInfo* gate = tensors.find(gate_name);
  const TensorInfo* down = tensors.find(down_name);
  if (!gate || !down) {
    t.problem = "missing " + (gate ? down_name : gate_name);
    return;
  }
  const size_t rank = t.fused_experts ? 3 : 2;
  if (gate->shape.size() != rank || down->shape.size() != rank) {
    t.problem = "weights of rank " + std::to_string(gate->shape.size()) + " (expected " + std::to_string(rank) + ")";
    return;
  }
  t.weight_dtype = gate->dtype;
  t.nvfp4 = gate->dtype == DType::kU8;
  const int64_t k_per_col = t.nvfp4 ? 2 : 1;
  t.hidden = int(std::min<int64_t>(gate->shape[rank - 1] * k_per_col, 1 << 30));
  const int64_t gate_rows = gate->shape[rank - 2];
  t.intermediate = int(std::min<int64_t>(t.fused_gate_up ? gate_rows / 2 : gate_rows, 1 << 30));
  if (t.fused_experts) t.num_experts = int(std::min<int64_t>(gate->shape[0], 1 << 30));
  t.has_input_scale = tensors.find(t.tensor_name(ExpertProjection::kGate, 0, "input_scale")) != nullptr;
}

// Hugging Face transformers' experts as bare (suffix-less) gate_up_proj and down_proj, per layer, with
// at most their biases beside them (gpt-oss's GptOssExperts, Llama-4's Llama4TextExperts). Any other
// bare parameter (w13, a bare gate_proj, a bare one next to a .weight) is left a problem rather than
// guessed at.
bool is_hf_layout(const PrefixScan& scan, const MoeLayerTensors& t) {
  if (!t.fused_experts || !t.fused_gate_up || t.gate_name != "gate_up_proj" || t.down_name != "down_proj") return false;
  if (scan.suffixes.size() != 2) return false;
  for (const auto& [projection, suffixes] : scan.suffixes) {
    std::set<std::string> rest = suffixes;
    rest.erase("bias");
    if (rest != std::set<std::string>{""}) return false;
  }
  return true;
}

// How a bare gate_up_proj's columns hold gate and up, which the tensors cannot tell: transformers'
// GptOssExperts takes gate_up[..., ::2] and gate_up[..., 1::2], Llama4TextExperts gate_up.chunk(2, -1).
// Returns an empty string, or the layer's problem for a model type whose layout is not known here.
std::string hf_gate_up_columns(std::string_view model_type, MoeLayerTensors& t) {
  const auto is = [&](std::string_view family) { return model_type.rfind(family, 0) == 0; };
  if (is("gpt_oss") || is("llama4")) {
    t.gate_up_interleaved = is("gpt_oss");
    return {};
  }
  return "bare parameter " + t.tensor_name(ExpertProjection::kGate, 0, "weight") + " of model_type '" +
         std::string(model_type) +
         "': whether its columns interleave gate and up (gpt_oss) or hold them as halves (llama4) is known "
         "only for those model types";
}

// gpt-oss's MXFP4 experts: gate_up_proj and down_proj each as _blocks and _scales, per layer, with at most
// their biases beside them.
bool is_mxfp4_layout(const PrefixScan& scan, const MoeLayerTensors& t) {
  if (!t.fused_experts || !t.fused_gate_up || t.gate_name != "gate_up_proj" || t.down_name != "down_proj") return false;
  for (const auto& [projection, suffixes] : scan.suffixes) {
    std::set<std::string> rest = suffixes;
    rest.erase("bias");
    if (rest != std::set<std::string>{"blocks", "scales"}) return false;
  }
  return true;
}

// Sizes from the MXFP4 tensors: gate_up_proj_blocks [E, 2I, H/32, 16] and _scales [E, 2I, H/32],
// down_proj_blocks [E, H, I/32, 16] and _scales [E, H, I/32]; gate and up interleaved in the rows, as
// gpt-oss (the one model whose checkpoints are so) has them.
void read_mxfp4_sizes(const SafetensorsCheckpoint& tensors, std::string_view model_type, MoeLayerTensors& t) {
  t.mxfp4 = true;
  t.nvfp4 = false;
  t.weight_dtype = DType::kU8;
  const TensorInfo& gate_up = *tensors.find(t.tensor_name(ExpertProjection::kGate, 0, "weight"));
  const TensorInfo& down = *tensors.find(t.tensor_name(ExpertProjection::kDown, 0, "weight"));
  const auto& g = gate_up.shape;
  if (gate_up.dtype != DType::kU8 || g.size() != 4 || g[1] % 2 != 0 || g[3] != kMxfp4BlockSize / 2) {
    t.problem = gate_up.name + " is " + std::string(to_string(gate_up.dtype)) + " " + gate_up.shape_string() +
                ", expected U8 [E, 2I, H/32, 16] (gpt-oss's MXFP4 blocks)";
    return;
  }
  t.num_experts = int(std::min<int64_t>(g[0], 1 << 30));
  t.intermediate = int(std::min<int64_t>(g[1] / 2, 1 << 30));
  t.hidden = int(std::min<int64_t>(g[2] * kMxfp4BlockSize, 1 << 30));
  const std::vector<int64_t> expected_down = {g[0], g[2] * kMxfp4BlockSize, g[1] / 2 / kMxfp4BlockSize, g[3]};
  if (down.dtype != DType::kU8 || down.shape != expected_down || (g[1] / 2) % kMxfp4BlockSize != 0) {
    TensorInfo e;
    e.shape = expected_down;
    t.problem = down.name + " is " + std::string(to_string(down.dtype)) + " " + down.shape_string() + ", expected U8 " +
                e.shape_string() + " as " + gate_up.name + " " + gate_up.shape_string() + " says";
    return;
  }
  if (model_type.rfind("gpt_oss", 0) != 0) {
    t.problem = "MXFP4 experts (" + gate_up.name + ") of model_type '" + std::string(model_type) +
                "': their gate and up rows are known to interleave for gpt_oss only";
    return;
  }
  t.gate_up_interleaved = true;
}

// Sizes of transformers' layout from its two bare tensors: gate_up_proj [E, H, 2I], down_proj [E, I, H].
// (Whether they agree with config.json is checked by the quantizer, which reads both.)
void read_hf_sizes(const SafetensorsCheckpoint& tensors, MoeLayerTensors& t) {
  t.hf_layout = true;
  const std::string gate_up_name = t.tensor_name(ExpertProjection::kGate, 0, "weight");
  const std::string down_name = t.tensor_name(ExpertProjection::kDown, 0, "weight");
  const TensorInfo& gate_up = *tensors.find(gate_up_name);
  const TensorInfo& down = *tensors.find(down_name);
  t.weight_dtype = gate_up.dtype;
  t.nvfp4 = false;
  const std::string layout = " (Hugging Face transformers' layout: gate_up_proj [E, H, 2I], down_proj [E, I, H])";
  if (gate_up.shape.size() != 3 || gate_up.shape[2] % 2 != 0) {
    t.problem = "bare parameter " + gate_up_name + " is " + gate_up.shape_string() + ", expected [E, H, 2I]" + layout;
    return;
  }
  const std::vector<int64_t> expected = {gate_up.shape[0], gate_up.shape[2] / 2, gate_up.shape[1]};
  if (down.shape != expected) {
    TensorInfo e;
    e.shape = expected;
    t.problem = "bare parameter " + down_name + " is " + down.shape_string() + ", expected " + e.shape_string() +
                " as " + gate_up_name + " " + gate_up.shape_string() + " says" + layout;
    return;
  }
  t.num_experts = int(std::min<int64_t>(gate_up.shape[0], 1 << 30));
  t.hidden = int(std::min<int64_t>(gate_up.shape[1], 1 << 30));
  t.intermediate = int(std::min<int64_t>(gate_up.shape[2] / 2, 1 << 30));
}

void find_router(const SafetensorsCheckpoint& tensors, MoeLayerTensors& t) {
  const std::string parent = t.experts_prefix.substr(0, t.experts_prefix.size() - kExperts.size());
  for (const char* module : {".gate", ".router"}) {
    if (tensors.find(parent + module + ".weight")) {
      t.router_weight = parent + module + ".weight";
      if (tensors.find(parent + module + ".bias")) t.router_linear_bias = parent + module + ".bias";
      break;
    }
  }
  for (const char* name : {".gate.e_score_correction_bias", ".e_score_correction_bias"}) {
    if (tensors.find(parent + name)) {
      t.router_bias = parent + name;
      break;
    }
  }
}

MoeLayerTensors describe(const SafetensorsCheckpoint& tensors, const std::string& prefix, const PrefixScan& scan,
                         std::string_view model_type) {
  MoeLayerTensors t;
  t.layer = scan.layer;
  t.experts_prefix = prefix;
  t.fused_experts = scan.fused && !scan.per_expert;
  t.separator = scan.separator;
  t.num_tensors = scan.num_tensors;
  t.bytes = scan.bytes;
  t.num_experts = scan.experts.empty() ? 0 : *scan.experts.rbegin() + 1;
  find_router(tensors, t);
  if (scan.fused && scan.per_expert) {
    t.problem = "both per-expert and per-layer (fused) expert tensors";
    return t;
  }
  const ProjectionNames* names = pick_projection_names(scan);
  if (!names) {
    t.problem = "no gate/up/down projections recognised (found: " + projections_seen(scan) + ")";
    return t;
  }
  t.gate_name = names->gate;
  t.up_name = names->up;
  t.down_name = names->down;
  t.fused_gate_up = names->fused_gate_up;
  for (const auto& [projection, separators] : scan.bias_separators) {
    // A bias the forward would not add would silently change the layer's output.
    if (projection != t.gate_name && projection != t.up_name && projection != t.down_name) {
      t.problem = "bias of " + projection + ", which is not one of the layer's projections (" +
                  (t.fused_gate_up ? t.gate_name : t.gate_name + ", " + t.up_name) + ", " + t.down_name + ")";
      continue;
    }
    if (separators.size() > 1) {
      t.problem = "two biases of " + projection + " (" + projection + ".bias and " + projection + "_bias)";
      continue;
    }
    const ExpertProjection p = projection == t.gate_name ? ExpertProjection::kGate
                               : projection == t.up_name ? ExpertProjection::kUp
                                                         : ExpertProjection::kDown;
    t.bias_separator[size_t(p)] = *separators.begin();
  }
  // A fused gate_up's one bias tensor serves both halves.
  if (t.fused_gate_up) t.bias_separator[size_t(ExpertProjection::kUp)] = t.bias_separator[0];
  // compressed-tensors names its packed weights weight_packed (modelopt.h); both forms at once is no layout.
  const std::set<std::string>& gate_suffixes = scan.suffixes.at(t.gate_name);
  t.compressed_tensors = gate_suffixes.count("weight_packed") > 0;
  if (t.compressed_tensors && gate_suffixes.count("weight"))
    t.problem = "both ModelOpt (" + t.gate_name + t.separator + "weight) and compressed-tensors (" + t.gate_name +
                t.separator + "weight_packed) weights";
  bool bare = false;
  for (const auto& [projection, suffixes] : scan.suffixes) bare = bare || suffixes.count("");
  if (is_mxfp4_layout(scan, t)) {
    if (t.problem.empty()) read_mxfp4_sizes(tensors, model_type, t);
    return t;
  }
  if (!bare) {
    if (t.problem.empty()) read_sizes(tensors, t);
    return t;
  }
  if (is_hf_layout(scan, t)) {
    if (t.problem.empty()) read_hf_sizes(tensors, t);
    if (t.problem.empty()) t.problem = hf_gate_up_columns(model_type, t);
    return t;
  }
  for (const auto& [projection, suffixes] : scan.suffixes) {
    if (suffixes.count(""))
      t.problem = "bare parameter " + prefix + "." + projection +
                  " is not supported: of Hugging Face's bare [E, K, N] parameters only transformers' gpt-oss and "
                  "Llama-4 layout is read (gate_up_proj [E, H, 2I] and down_proj [E, I, H], both bare, nothing "
                  "else; by `fp4moe quantize`); ModelOpt's is " +
                  projection + ".weight [E, N, K]";
  }
  return t;
}

}  // namespace

std::string_view MoeLayerTensors::stored_suffix(std::string_view suffix) const {
  if (mxfp4) return suffix == "weight" ? "blocks" : suffix == "weight_scale" ? "scales" : suffix;
  if (!compressed_tensors) return suffix;
  if (suffix == "weight") return "weight_packed";
  if (suffix == "weight_scale_2") return "weight_global_scale";
  if (suffix == "input_scale") return "input_global_scale";
  return suffix;
}

std::string MoeLayerTensors::tensor_name(ExpertProjection projection, int expert, std::string_view suffix) const {
  const std::string& proj = projection_name(projection);
  suffix = stored_suffix(suffix);
  if (hf_layout && suffix == "weight") return experts_prefix + "." + proj;  // the bare parameter
  if (fused_experts) return experts_prefix + "." + proj + separator + std::string(suffix);
  return experts_prefix + "." + std::to_string(expert) + "." + proj + "." + std::string(suffix);
}

bool MoeLayerTensors::has_biases() const {
  return std::any_of(bias_separator.begin(), bias_separator.end(), [](char c) { return c != 0; });
}

std::string MoeLayerTensors::bias_name(ExpertProjection projection, int expert) const {
  const std::string& proj = projection_name(projection);
  const std::string bias = std::string(1, bias_separator[size_t(projection)]) + "bias";
  if (fused_experts) return experts_prefix + "." + proj + bias;
  return experts_prefix + "." + std::to_string(expert) + "." + proj + bias;
}

MoeLayerTensors::BiasSlice MoeLayerTensors::bias_slice(ExpertProjection projection, int expert) const {
  const bool down = projection == ExpertProjection::kDown, up = projection == ExpertProjection::kUp;
  const bool gate_up = fused_gate_up && !down;  // one tensor for both halves
  BiasSlice s;
  s.rows = down ? hidden : intermediate;
  const int64_t tensor_rows = gate_up ? 2 * s.rows : s.rows;
  s.shape = {tensor_rows};
  if (fused_experts) s.shape.insert(s.shape.begin(), num_experts);
  // gpt-oss's gate_up bias interleaves gate and up (element 2j gate j, 2j+1 up j), as its weight does.
  s.stride = gate_up_interleaved && gate_up ? 2 : 1;
  s.first = (fused_experts ? expert * tensor_rows : 0) + (gate_up && up ? (s.stride == 2 ? 1 : s.rows) : 0);
  return s;
}

std::vector<MoeLayerTensors> find_moe_layers(const SafetensorsCheckpoint& tensors, std::string_view model_type) {
  std::map<std::string, PrefixScan> scans;
  for (const auto& file : tensors.files())
    for (const auto& info : file.header().tensors)
      if (tensors.find(info.name) == &info) scan_name(info.name, info, scans);  // skip names the index ignores

  std::vector<MoeLayerTensors> layers;
  for (const auto& [prefix, scan] : scans) layers.push_back(describe(tensors, prefix, scan, model_type));
  std::sort(layers.begin(), layers.end(), [](const auto& a, const auto& b) { return a.layer < b.layer; });
  for (size_t i = 1; i < layers.size(); ++i) {
    if (layers[i].layer == layers[i - 1].layer)
      layers[i].problem = "a second experts prefix for layer " + std::to_string(layers[i].layer) + " (" +
                          layers[i - 1].experts_prefix + ")";
  }
  return layers;
}

}  // namespace fp4moe
