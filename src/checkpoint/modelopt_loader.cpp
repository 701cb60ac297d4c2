// Loading ModelOpt NVFP4 experts (or compressed-tensors', modelopt.h) into a MoeLayer: every tensor is
// checked (dtype, shape, scalar scales finite and positive, E4M3 block scales not NaN or negative,
// biases finite) and viewed in place in the file mapping (biases, of any float dtype and alignment,
// are converted to float); gpt-oss's MXFP4 experts are checked the same way and converted to NVFP4
// (unquantized_experts.h's quantize_projection).
// load_moe_layer validates the whole local expert range before the first load_expert(), so a bad file
// never half-loads a layer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "checkpoint/tensor_values.h"
#include "checkpoint/unquantized_experts.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/error.h"
#include "fp4moe/format/mxfp4.h"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe {
namespace {

std::string where_of(const TensorView& v) { return "safetensors " + *v.file; }
std::string what_of(const TensorView& v) { return "tensor '" + v.info->name + "'"; }
std::string describe(const TensorInfo& info) { return std::string(to_string(info.dtype)) + " " + info.shape_string(); }

std::string shape_string(const std::vector<int64_t>& shape) {
  TensorInfo info;
  info.shape = shape;
  return info.shape_string();
}

void require_layout(const TensorView& v, DType dtype, const std::vector<int64_t>& shape) {
  const bool ok = v.info->dtype == dtype && v.info->shape == shape;
  require(ok, where_of(v), what_of(v), std::string(to_string(dtype)) + " " + shape_string(shape), describe(*v.info));
}

// [E, rows, cols] for a fused layout, [rows, cols] per expert.
std::vector<int64_t> expected_shape(const MoeLayerTensors& t, int64_t rows, int64_t cols) {
  if (t.fused_experts) return {t.num_experts, rows, cols};
  return {rows, cols};
}

// One F32 scale of `expert` (and, for a fused gate_up, of its gate (half 0) or up (half 1)).
float read_scale(const MoeCheckpoint& ckpt, const MoeLayerTensors& t, ExpertProjection p, int expert, int half,
                 std::string_view suffix) {
  const TensorView v = ckpt.tensors().tensor(t.tensor_name(p, expert, suffix));
  const int64_t n = v.info->numel();
  const int64_t experts = t.fused_experts ? t.num_experts : 1;
  const int64_t local = t.fused_experts ? expert : 0;
  int64_t index = -1;
  if (n == 1)
    index = 0;
  else if (t.fused_experts && n == experts)
    index = local;
  else if (t.fused_gate_up && p != ExpertProjection::kDown && n == 2 * experts)
    index = local * 2 + half;
  const bool ok = v.info->dtype == DType::kF32 && index >= 0 && v.info->shape.size() <= 2;
  const bool two_halves = t.fused_gate_up && p != ExpertProjection::kDown;
  std::string expected = "F32 with 1";
  if (t.fused_experts) expected += two_halves ? ", " + std::to_string(experts) : " or " + std::to_string(experts);
  if (two_halves) expected += " or " + std::to_string(2 * experts);
  expected += (expected == "F32 with 1" ? " element" : " elements") + std::string(two_halves ? " (gate, up)" : "");
  require(ok, where_of(v), what_of(v), expected, describe(*v.info));
  float value;
  std::memcpy(&value, v.data + index * 4, sizeof(value));
  require(std::isfinite(value) && value > 0.0f, where_of(v), what_of(v), "a finite positive scale",
          std::to_string(value));
  if (!t.compressed_tensors) return value;
  // compressed-tensors stores the global scale, the inverse of ModelOpt's (modelopt.h).
  const float inverse = 1.0f / value;
  require(std::isfinite(inverse), where_of(v), what_of(v), "a global scale whose inverse is a finite float",
          std::to_string(value));
  return inverse;
}

// Every E4M3 block scale of one expert's [rows, blocks] scales valid (format/nvfp4.h), checked here so
// that the error names the tensor and the element; `expert` >= 0 in a fused [E, rows, blocks] tensor.
void require_valid_block_scales(const TensorView& v, const uint8_t* scales, int64_t rows, int64_t blocks, int expert) {
  const uint8_t* end = scales + rows * blocks;
  const uint8_t* bad = std::find_if_not(scales, end, is_valid_block_scale);
  if (bad == end) return;
  const int64_t at = bad - scales;
  char code[8];
  std::snprintf(code, sizeof(code), "0x%02X", unsigned(*bad));
  const std::string index = (expert >= 0 ? std::to_string(expert) + ", " : "") + std::to_string(at / blocks) + ", " +
                            std::to_string(at % blocks);
  require(false, where_of(v), what_of(v), "E4M3 block scales >= 0 and not NaN",
          std::string(code) + " at [" + index + "]");
}

// The packed weight and block scales of one projection [rows, k] of `expert`.
Nvfp4WeightView projection_view(const MoeCheckpoint& ckpt, const MoeLayerTensors& t, ExpertProjection p, int expert,
                                int64_t rows, int64_t k) {
  const TensorView weight = ckpt.tensors().tensor(t.tensor_name(p, expert, "weight"));
  const TensorView scales = ckpt.tensors().tensor(t.tensor_name(p, expert, "weight_scale"));
  require_layout(weight, DType::kU8, expected_shape(t, rows, k / 2));
  require_layout(scales, DType::kF8E4M3, expected_shape(t, rows, k / 16));
  const int64_t e = t.fused_experts ? expert : 0;
  Nvfp4WeightView view;
  view.packed = weight.data + e * rows * (k / 2);
  view.scales = scales.data + e * rows * (k / 16);
  view.scale_layout = ScaleLayout::kLinear;
  require_valid_block_scales(scales, view.scales, rows, k / 16, t.fused_experts ? expert : -1);
  return view;
}

// Sets each projection's bias pointer to its float copy in `x.bias` (none where it is empty).
void point_at_biases(CheckpointExpert& x) {
  Nvfp4WeightView* views[3] = {&x.view.gate, &x.view.up, &x.view.down};
  for (size_t p = 0; p < 3; ++p) views[p]->bias = x.bias[p].empty() ? nullptr : x.bias[p].data();
}

void require_loadable(const MoeCheckpoint& ckpt, const MoeLayerTensors& t) {
  require(t.problem.empty(), "checkpoint " + ckpt.dir(), "layer " + std::to_string(t.layer) + " experts",
          "a loadable MoE layer", t.problem);
  require(!t.hf_layout, "checkpoint " + ckpt.dir(), t.tensor_name(ExpertProjection::kGate, 0, "weight"),
          "NVFP4 weights (U8, ModelOpt layout)",
          std::string(to_string(t.weight_dtype)) +
              " in Hugging Face transformers' layout (bare gate_up_proj [E, H, 2I]): convert it with `fp4moe "
              "quantize` first");
  require(t.nvfp4 || t.mxfp4, "checkpoint " + ckpt.dir(), t.tensor_name(ExpertProjection::kGate, 0, "weight"),
          "NVFP4 weights (U8, ModelOpt layout) or gpt-oss's MXFP4 ones", std::string(to_string(t.weight_dtype)));
  const std::string& algo = ckpt.model().quant_algo;
  require(algo.empty() || algo == (t.mxfp4 ? "MXFP4" : "NVFP4"), "checkpoint " + ckpt.dir(), "quant_algo",
          t.mxfp4 ? "MXFP4" : "NVFP4", algo);
  const int group = t.mxfp4 ? kMxfp4BlockSize : kNvfp4BlockSize;
  require(ckpt.model().group_size == 0 || ckpt.model().group_size == group, "checkpoint " + ckpt.dir(), "group_size",
          std::to_string(group), ckpt.model().group_size);
}

}  // namespace

MoeCheckpoint::MoeCheckpoint(const std::string& dir)
    : dir_(dir), model_(read_model_config(dir)), tensors_(dir), layers_(find_moe_layers(tensors_, model_.model_type)) {}

const MoeLayerTensors& MoeCheckpoint::moe_layer(int layer) const {
  std::string available;
  for (const auto& t : layers_) {
    if (t.layer == layer) return t;
    available += (available.empty() ? "" : ", ") + std::to_string(t.layer);
  }
  require(false, "checkpoint " + dir_, "layer", "one of the MoE layers: " + (available.empty() ? "none" : available),
          layer);
  return layers_.front();
}

MoeConfig MoeCheckpoint::moe_config(int layer, QuantMode mode, int max_tokens, TensorParallelShard shard) const {
  require_loadable(*this, moe_layer(layer));
  MoeConfig c = checked_config(layer, mode, max_tokens);
  c.intermediate = shard_intermediate(c.intermediate, shard, "MoeCheckpoint::moe_config");
  return c;
}

MoeConfig MoeCheckpoint::unquantized_moe_config(int layer, QuantMode mode, int max_tokens) const {
  const MoeLayerTensors& t = moe_layer(layer);
  require(t.problem.empty(), "checkpoint " + dir_, "layer " + std::to_string(t.layer) + " experts", "a MoE layer",
          t.problem);
  require(!t.nvfp4, "checkpoint " + dir_, t.tensor_name(ExpertProjection::kGate, 0, "weight"),
          "expert weights not in NVFP4 (BF16, F16, F32 or MXFP4)", "NVFP4 weights (U8, ModelOpt layout)");
  return checked_config(layer, mode, max_tokens);
}

MoeConfig MoeCheckpoint::checked_config(int layer, QuantMode mode, int max_tokens) const {
  const MoeLayerTensors& t = moe_layer(layer);
  const std::string weight = t.tensor_name(ExpertProjection::kGate, 0, "weight");
  const auto check = [&](int from_config, int from_tensors, const char* field) {
    require(
        from_config == from_tensors, model_.config_path, field,
        std::to_string(from_tensors) + " as the tensors of layer " + std::to_string(layer) + " say (" + weight + ")",
        from_config);
  };
  check(model_.num_experts, t.num_experts, "num_experts");
  check(model_.hidden, t.hidden, "hidden_size");
  check(model_.intermediate, t.intermediate, "moe_intermediate_size");
  MoeConfig c;
  c.num_experts = t.num_experts;
  c.hidden = t.hidden;
  c.intermediate = t.intermediate;
  c.top_k = model_.top_k;
  c.activation = model_.activation;
  c.mode = mode;
  c.max_tokens = max_tokens;
  return c;
}

CheckpointExpert expert_weights(const MoeCheckpoint& ckpt, int layer, int expert) {
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  require_loadable(ckpt, t);
  require(expert >= 0 && expert < t.num_experts, "expert_weights", "expert",
          "in [0, " + std::to_string(t.num_experts) + ")", expert);
  const int64_t h = t.hidden, i = t.intermediate;
  CheckpointExpert x;
  ExpertWeightsView& w = x.view;
  if (t.mxfp4) {
    // gpt-oss's MXFP4: its tensors and E8M0 scales checked, each projection converted to NVFP4 here.
    check_unquantized_expert(ckpt, t, expert);
    Nvfp4WeightView* views[3] = {&w.gate, &w.up, &w.down};
    for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
      QuantizedProjection q = quantize_projection(ckpt.tensors(), t, expert, p);
      x.inexact_blocks += q.inexact_blocks;
      QuantizedWeight& c = x.converted[size_t(p)] = std::move(q.weight);
      *views[size_t(p)] = {c.packed.data(), c.scales.data(), ScaleLayout::kLinear, c.scale_2, nullptr};
    }
  } else if (t.fused_gate_up) {
    const Nvfp4WeightView w13 = projection_view(ckpt, t, ExpertProjection::kGate, expert, 2 * i, h);
    Nvfp4WeightView down = projection_view(ckpt, t, ExpertProjection::kDown, expert, h, i);
    down.scale_2 = read_scale(ckpt, t, ExpertProjection::kDown, expert, 0, "weight_scale_2");
    w = split_fused_w13(w13.packed, w13.scales,
                        read_scale(ckpt, t, ExpertProjection::kGate, expert, 0, "weight_scale_2"),
                        read_scale(ckpt, t, ExpertProjection::kUp, expert, 1, "weight_scale_2"), int(i), int(h), down);
  } else {
    w.gate = projection_view(ckpt, t, ExpertProjection::kGate, expert, i, h);
    w.up = projection_view(ckpt, t, ExpertProjection::kUp, expert, i, h);
    w.down = projection_view(ckpt, t, ExpertProjection::kDown, expert, h, i);
    w.gate.scale_2 = read_scale(ckpt, t, ExpertProjection::kGate, expert, 0, "weight_scale_2");
    w.up.scale_2 = read_scale(ckpt, t, ExpertProjection::kUp, expert, 1, "weight_scale_2");
    w.down.scale_2 = read_scale(ckpt, t, ExpertProjection::kDown, expert, 0, "weight_scale_2");
  }
  for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown})
    x.bias[size_t(p)] = read_expert_bias(ckpt, t, expert, p);
  point_at_biases(x);
  return x;
}

std::vector<float> read_expert_bias(const MoeCheckpoint& ckpt, const MoeLayerTensors& t, int expert,
                                    ExpertProjection p) {
  if (!t.has_bias(p)) return {};
  require(expert >= 0 && expert < t.num_experts, "read_expert_bias", "expert",
          "in [0, " + std::to_string(t.num_experts) + ")", expert);
  const std::string name = t.bias_name(p, expert);
  // The scan saw this projection's bias on some expert: one without it is an error, not a zero bias.
  require(ckpt.tensors().find(name) != nullptr, "checkpoint " + ckpt.dir(), "tensor '" + name + "'",
          "present (other experts of layer " + std::to_string(t.layer) +
              " have this bias: a projection has a bias on every expert or on none)",
          "missing");
  const TensorView v = ckpt.tensors().tensor(name);
  const MoeLayerTensors::BiasSlice s = t.bias_slice(p, expert);
  require(is_float_dtype(v.info->dtype) && v.info->shape == s.shape, where_of(v), what_of(v),
          "BF16, F16 or F32 " + shape_string(s.shape), describe(*v.info));
  std::vector<float> bias = read_float_range(v, s.first, (s.rows - 1) * s.stride + 1);
  if (s.stride > 1) {
    for (int64_t j = 0; j < s.rows; ++j) bias[size_t(j)] = bias[size_t(j * s.stride)];
    bias.resize(size_t(s.rows));
  }
  const auto bad = std::find_if_not(bias.begin(), bias.end(), [](float b) { return std::isfinite(b); });
  if (bad != bias.end()) {
    const int64_t at = s.first + (bad - bias.begin()) * s.stride, tensor_rows = s.shape.back();
    const std::string index = t.fused_experts
                                  ? std::to_string(at / tensor_rows) + ", " + std::to_string(at % tensor_rows)
                                  : std::to_string(at);
    require(false, where_of(v), what_of(v), "finite biases", std::to_string(*bad) + " at [" + index + "]");
  }
  return bias;
}

InputScales input_scales(const MoeCheckpoint& ckpt, int layer, int first_expert, int num_experts) {
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  InputScales s;
  if (!t.has_input_scale) return s;
  for (int e = first_expert; e < first_expert + num_experts; ++e) {
    s.gemm1 = std::max({s.gemm1, read_scale(ckpt, t, ExpertProjection::kGate, e, 0, "input_scale"),
                        read_scale(ckpt, t, ExpertProjection::kUp, e, 1, "input_scale")});
    s.gemm2 = std::max(s.gemm2, read_scale(ckpt, t, ExpertProjection::kDown, e, 0, "input_scale"));
  }
  return s;
}

LoadReport load_moe_layer(const MoeCheckpoint& ckpt, int layer, MoeLayer& dst,
                          const std::function<void(int, int)>& progress) {
  return load_moe_layer(ckpt, layer, dst, TensorParallelShard{}, progress);
}

LoadReport load_moe_layer(const MoeCheckpoint& ckpt, int layer, MoeLayer& dst, TensorParallelShard shard,
                          const std::function<void(int, int)>& progress) {
  const MoeConfig& c = dst.config();
  const MoeConfig expected = ckpt.moe_config(layer, c.mode, c.max_tokens, shard);
  const auto check = [&](int got, int want, const char* field, const std::string& hint) {
    require(got == want, "load_moe_layer", std::string("layer config ") + field,
            std::to_string(want) + " (layer " + std::to_string(layer) + " of " + ckpt.dir() + hint + ")", got);
  };
  check(c.num_experts, expected.num_experts, "num_experts", "");
  check(c.hidden, expected.hidden, "hidden", "");
  const bool looks_sharded = c.intermediate > 0 && c.intermediate < expected.intermediate &&
                             expected.intermediate % c.intermediate == 0;
  check(c.intermediate, expected.intermediate, "intermediate",
        shard.size > 1 ? ", rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.size)
        : looks_sharded ? "; a tensor-parallel shard is loaded with its TensorParallelShard"
                        : "");

  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  const int first = c.local_expert_start, count = c.num_local_experts();
  // Every expert is validated before the first load. NVFP4 experts are views into the mapping, cheap to
  // hold together; MXFP4 ones are checked whole here and converted one at a time below (holding every
  // conversion would take as much memory as the layer).
  std::vector<CheckpointExpert> experts;  // owns the biases the views point to until every load is done
  if (t.mxfp4) {
    check_unquantized_layer(ckpt, t);
    for (int e = first; e < first + count; ++e)
      for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown})
        read_expert_bias(ckpt, t, e, p);
  } else {
    experts.reserve(size_t(count));
    for (int e = 0; e < count; ++e) experts.push_back(expert_weights(ckpt, layer, first + e));
  }
  const bool w4a4_scales = c.mode == QuantMode::kW4A4 && t.has_input_scale;
  const InputScales scales = w4a4_scales ? input_scales(ckpt, layer, first, count) : InputScales{};

  LoadReport report;
  for (int e = 0; e < count; ++e) {
    const CheckpointExpert converted = t.mxfp4 ? expert_weights(ckpt, layer, first + e) : CheckpointExpert{};
    const CheckpointExpert& x = t.mxfp4 ? converted : experts[size_t(e)];
    report.inexact_blocks += x.inexact_blocks;
    if (shard.size == 1) {
      dst.load_expert(e, x.view);
    } else {
      dst.load_expert(e, shard_expert(x.view, c.hidden, t.intermediate, shard).view);
    }
    report.experts = e + 1;
    if (progress) progress(e + 1, count);
  }
  if (w4a4_scales) dst.set_input_scales(scales.gemm1, scales.gemm2);
  return report;
}

RouterWeights read_router(const MoeCheckpoint& ckpt, int layer) {
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  RouterWeights r;
  if (t.router_weight.empty()) return r;
  const TensorView w = ckpt.tensors().tensor(t.router_weight);
  const std::vector<int64_t> shape = {t.num_experts, t.hidden};
  require(w.info->shape == shape, where_of(w), what_of(w), "a router of shape " + shape_string(shape),
          describe(*w.info));
  r.present = true;
  r.num_experts = t.num_experts;
  r.hidden = t.hidden;
  r.weight = read_float_tensor(w);
  // Both biases are [num_experts] and finite, or the routing they feed is wrong for every token.
  const auto read_bias = [&](const std::string& name) {
    const TensorView b = ckpt.tensors().tensor(name);
    require(b.info->shape == std::vector<int64_t>{t.num_experts}, where_of(b), what_of(b),
            "a bias of shape [" + std::to_string(t.num_experts) + "]", describe(*b.info));
    std::vector<float> bias = read_float_tensor(b);
    const auto bad = std::find_if_not(bias.begin(), bias.end(), [](float v) { return std::isfinite(v); });
    require(bad == bias.end(), where_of(b), what_of(b), "finite values",
            bad == bias.end() ? "" : std::to_string(*bad) + " at [" + std::to_string(bad - bias.begin()) + "]");
    return bias;
  };
  if (!t.router_bias.empty()) r.bias = read_bias(t.router_bias);
  if (!t.router_linear_bias.empty()) r.linear_bias = read_bias(t.router_linear_bias);
  return r;
}

}  // namespace fp4moe
