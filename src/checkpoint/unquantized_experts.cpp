// Reading an unquantized MoE layer's expert projections (unquantized_experts.h): where each one's
// rows lie in its source tensor, and transformers' transposed tensors (gpt-oss, Llama-4) turned to [N, K].
#include "checkpoint/unquantized_experts.h"

#include <cmath>
#include <cstring>

#include "checkpoint/tensor_values.h"
#include "fp4moe/error.h"
#include "fp4moe/format/mxfp4.h"

namespace fp4moe {
namespace {

// Where one expert projection's [rows, k] rows live in its source tensor. For hf_layout the source
// is transformers' transposed [E, k, cols] tensor instead: this projection is its expert slice's
// columns first_col, first_col + col_step, ... (gpt-oss's gate_up_proj interleaves gate and up: step 2).
// For mxfp4 the rows are first_row, first_row + row_step, ... of the _blocks tensor (gpt-oss's gate and
// up interleave there: step 2), each with its row of the _scales tensor.
struct SourceRows {
  std::string tensor;
  int64_t first_row = 0, rows = 0, k = 0, row_step = 1;
  std::vector<int64_t> tensor_shape;  // what the whole source tensor must be
  bool transposed = false;            // hf_layout
  int64_t expert = 0, cols = 0, first_col = 0, col_step = 1;
  bool mxfp4 = false;
  std::string scales_tensor;          // mxfp4
  std::vector<int64_t> scales_shape;  // mxfp4
};

SourceRows source_rows(const MoeLayerTensors& t, int expert, ExpertProjection p) {
  const bool down = p == ExpertProjection::kDown;
  const bool fused_gate_up = t.fused_gate_up && !down;
  const bool interleaved = fused_gate_up && t.gate_up_interleaved;
  SourceRows s;
  s.tensor = t.tensor_name(p, expert, "weight");
  s.rows = down ? t.hidden : t.intermediate;
  s.k = down ? t.intermediate : t.hidden;
  if (t.hf_layout) {
    // transformers' experts: gate_up_proj [E, H, 2I] (columns gate 0, up 0, gate 1, ... for gpt-oss;
    // gate 0..I-1 then up 0..I-1 for Llama-4), down_proj [E, I, H]; x @ W, so a projection's [N, K] is
    // the transpose of its columns.
    s.transposed = true;
    s.expert = expert;
    s.cols = fused_gate_up ? 2 * s.rows : s.rows;
    s.col_step = interleaved ? 2 : 1;
    s.first_col = p != ExpertProjection::kUp ? 0 : interleaved ? 1 : s.rows;
    s.tensor_shape = {t.num_experts, s.k, s.cols};
    return s;
  }
  const int64_t rows_per_expert = fused_gate_up ? 2 * s.rows : s.rows;
  const int64_t up_offset = !fused_gate_up || p != ExpertProjection::kUp ? 0 : interleaved ? 1 : s.rows;
  s.row_step = interleaved ? 2 : 1;
  s.first_row = (t.fused_experts ? expert * rows_per_expert : 0) + up_offset;
  if (t.mxfp4) {
    // gpt-oss's experts: [E, rows, K/32, 16] codes and [E, rows, K/32] E8M0 scales.
    s.mxfp4 = true;
    s.scales_tensor = t.tensor_name(p, expert, "weight_scale");
    s.tensor_shape = {t.num_experts, rows_per_expert, s.k / kMxfp4BlockSize, kMxfp4BlockSize / 2};
    s.scales_shape = {t.num_experts, rows_per_expert, s.k / kMxfp4BlockSize};
    return s;
  }
  s.tensor_shape = {rows_per_expert, s.k};
  if (t.fused_experts) s.tensor_shape.insert(s.tensor_shape.begin(), t.num_experts);
  return s;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  TensorInfo info;
  info.shape = shape;
  return info.shape_string();
}

// The largest E8M0 scale of finite MXFP4 weights: 6 * 2^(252 - 127) is below FLT_MAX, 6 * 2^126 is not.
constexpr uint8_t kMaxFiniteE8M0 = 252;

void check_source(const SafetensorsCheckpoint& tensors, const SourceRows& s) {
  const TensorView v = tensors.tensor(s.tensor);
  const bool dtype_ok = s.mxfp4 ? v.info->dtype == DType::kU8 : is_float_dtype(v.info->dtype);
  require(dtype_ok && v.info->shape == s.tensor_shape, "safetensors " + *v.file, "tensor '" + s.tensor + "'",
          std::string(s.mxfp4 ? "U8 " : "BF16, F16 or F32 ") + shape_string(s.tensor_shape),
          std::string(to_string(v.info->dtype)) + " " + v.info->shape_string());
  if (!s.mxfp4) return;
  const TensorView scales = tensors.tensor(s.scales_tensor);
  require(scales.info->dtype == DType::kU8 && scales.info->shape == s.scales_shape, "safetensors " + *scales.file,
          "tensor '" + s.scales_tensor + "'", "U8 " + shape_string(s.scales_shape),
          std::string(to_string(scales.info->dtype)) + " " + scales.info->shape_string());
  const int64_t per_row = s.k / kMxfp4BlockSize;
  for (int64_t n = 0; n < s.rows; ++n) {
    const int64_t row = s.first_row + n * s.row_step;
    for (int64_t b = 0; b < per_row; ++b) {
      const uint8_t e = scales.data[row * per_row + b];
      if (e <= kMaxFiniteE8M0) continue;
      const int64_t rows_per_expert = s.scales_shape[1];
      require(false, "safetensors " + *scales.file, "tensor '" + s.scales_tensor + "'",
              "E8M0 scales of finite weights (at most 252, 2^125; 255 is NaN)",
              std::to_string(e) + " at [" + std::to_string(row / rows_per_expert) + ", " +
                  std::to_string(row % rows_per_expert) + ", " + std::to_string(b) + "]");
    }
  }
}

// An mxfp4 projection's rows gathered: its codes [rows, k/2] and E8M0 scales [rows, k/32].
struct Mxfp4Rows {
  std::vector<uint8_t> packed, scales;
};

Mxfp4Rows mxfp4_rows(const SafetensorsCheckpoint& tensors, const SourceRows& s) {
  const uint8_t* codes = tensors.tensor(s.tensor).data;
  const uint8_t* scales = tensors.tensor(s.scales_tensor).data;
  const int64_t row_bytes = s.k / 2, row_scales = s.k / kMxfp4BlockSize;
  Mxfp4Rows m{std::vector<uint8_t>(size_t(s.rows * row_bytes)), std::vector<uint8_t>(size_t(s.rows * row_scales))};
  for (int64_t n = 0; n < s.rows; ++n) {
    const int64_t row = s.first_row + n * s.row_step;
    std::memcpy(&m.packed[size_t(n * row_bytes)], codes + row * row_bytes, size_t(row_bytes));
    std::memcpy(&m.scales[size_t(n * row_scales)], scales + row * row_scales, size_t(row_scales));
  }
  return m;
}

// One expert projection as float [rows, k] (ModelOpt's [N, K]), whatever the source's layout.
std::vector<float> read_rows(const SafetensorsCheckpoint& tensors, const SourceRows& s) {
  if (s.mxfp4) {
    const Mxfp4Rows m = mxfp4_rows(tensors, s);
    std::vector<float> w(size_t(s.rows * s.k));
    dequantize_mxfp4(m.packed.data(), m.scales.data(), s.rows, s.k, w.data());
    return w;
  }
  if (!s.transposed) {
    if (s.row_step == 1) return read_float_range(tensors.tensor(s.tensor), s.first_row * s.k, s.rows * s.k);
    std::vector<float> w;
    w.reserve(size_t(s.rows * s.k));
    for (int64_t n = 0; n < s.rows; ++n) {
      const int64_t first = (s.first_row + n * s.row_step) * s.k;
      const std::vector<float> row = read_float_range(tensors.tensor(s.tensor), first, s.k);
      w.insert(w.end(), row.begin(), row.end());
    }
    return w;
  }
  const std::vector<float> slice = read_float_range(tensors.tensor(s.tensor), s.expert * s.k * s.cols, s.k * s.cols);
  std::vector<float> w(size_t(s.rows * s.k));
  for (int64_t n = 0; n < s.rows; ++n)
    for (int64_t k = 0; k < s.k; ++k) w[size_t(n * s.k + k)] = slice[size_t(k * s.cols + s.first_col + n * s.col_step)];
  return w;
}
// transformers' bare tensors carry no names of their sizes, and [E, H, 2I] against [E, I, H] is
// the only thing telling their orientation: both must be what config.json says.
void check_hf_shapes(const MoeCheckpoint& ckpt, const MoeLayerTensors& t) {
  const MoeModelConfig& m = ckpt.model();
  const int64_t E = m.num_experts, H = m.hidden, I = m.intermediate;
  const std::pair<ExpertProjection, std::vector<int64_t>> expected[] = {{ExpertProjection::kGate, {E, H, 2 * I}},
                                                                        {ExpertProjection::kDown, {E, I, H}}};
  for (const auto& [p, shape] : expected) {
    const std::string name = t.tensor_name(p, 0, "weight");
    const TensorView v = ckpt.tensors().tensor(name);
    TensorInfo want;
    want.shape = shape;
    require(v.info->shape == shape, "safetensors " + *v.file, "tensor '" + name + "'",
            want.shape_string() + std::string(p == ExpertProjection::kDown ? " [E, I, H]" : " [E, H, 2I]") +
                " (Hugging Face transformers' layout, sizes from " + m.config_path +
                ": num_local_experts, hidden_size, intermediate_size)",
            std::string(to_string(v.info->dtype)) + " " + v.info->shape_string());
  }
}

}  // namespace

void check_unquantized_layer(const MoeCheckpoint& checkpoint, const MoeLayerTensors& t) {
  const std::string where = "checkpoint " + checkpoint.dir();
  const std::string what = "layer " + std::to_string(t.layer) + " experts (" + t.experts_prefix + ")";
  require(t.problem.empty(), where, what, "a MoE layer with gate/up/down weights", t.problem);
  require(!t.nvfp4 && (t.mxfp4 || is_float_dtype(t.weight_dtype)), where, what,
          "BF16, F16 or F32 expert weights, or gpt-oss's MXFP4 ones", std::string(to_string(t.weight_dtype)));
  require(t.hidden % 16 == 0 && t.intermediate % 16 == 0, where, what,
          "hidden and intermediate sizes that are multiples of 16",
          std::to_string(t.hidden) + " and " + std::to_string(t.intermediate));
  if (t.hf_layout) check_hf_shapes(checkpoint, t);
  for (int e = 0; e < t.num_experts; ++e) check_unquantized_expert(checkpoint, t, e);
}

void check_unquantized_expert(const MoeCheckpoint& checkpoint, const MoeLayerTensors& t, int expert) {
  for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown})
    check_source(checkpoint.tensors(), source_rows(t, expert, p));
}

std::vector<float> read_unquantized_projection(const SafetensorsCheckpoint& tensors, const MoeLayerTensors& t,
                                               int expert, ExpertProjection projection) {
  const SourceRows s = source_rows(t, expert, projection);
  std::vector<float> w = read_rows(tensors, s);
  for (float v : w) {
    if (std::isfinite(v)) continue;
    const TensorView source = tensors.tensor(s.tensor);
    require(false, "safetensors " + *source.file, "tensor '" + s.tensor + "'",
            "finite weights", "NaN or Inf in expert " + std::to_string(expert));
  }
  return w;
}

QuantizedProjection quantize_projection(const SafetensorsCheckpoint& tensors, const MoeLayerTensors& t, int expert,
                                        ExpertProjection projection) {
  const SourceRows s = source_rows(t, expert, projection);
  QuantizedProjection q;
  if (s.mxfp4) {
    const Mxfp4Rows m = mxfp4_rows(tensors, s);
    Nvfp4FromMxfp4 n = nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), s.rows, s.k);
    q.weight = std::move(n.weight);
    q.inexact_blocks = n.inexact_blocks;
    return q;
  }
  const std::vector<float> w = read_unquantized_projection(tensors, t, expert, projection);
  q.weight = quantize_weight(w.data(), s.rows, s.k);
  return q;
}

}  // namespace fp4moe
