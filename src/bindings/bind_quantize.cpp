// fp4moe.quantize_nvfp4 and friends: the host codecs of format/quantize.h on NumPy-compatible
// arrays, so that users can prepare and check weights from Python with the library's own rounding.
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "bindings/arrays.h"
#include "bindings/module.h"
#include "fp4moe/error.h"
#include "fp4moe/format/mxfp4.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe::bindings {
namespace {

using nb::dlpack::dtype_code;

bool is_float32(const ArrayInfo& a) { return a.dtype.code == uint8_t(dtype_code::Float) && a.dtype.bits == 32; }

// The shape NumPy gets for scales: [rows, K/16] linear, or the padded [rows', K/16'] tiles.
std::vector<size_t> scale_shape(ScaleLayout layout, int64_t rows, int64_t cols) {
  if (layout == ScaleLayout::kLinear) return {size_t(rows), size_t(scale_cols(cols))};
  return {size_t(round_up(rows, kSwizzleRows)), size_t(round_up(scale_cols(cols), kSwizzleCols))};
}

void require_cols(int64_t cols, const char* where, const char* name) {
  require(cols > 0 && cols % kNvfp4BlockSize == 0, where, name, "a positive multiple of 16 columns", cols);
}

// A host matrix [rows, cols] of float32 or bfloat16 (bf16 bits in any 16-bit non-float type), cols a
// multiple of 16: what the quantizers take.
ArrayInfo float_matrix(const InArray& a, const char* where, const char* name) {
  ArrayInfo info = describe(a);
  const bool f32 = is_float32(info);
  require(f32 || (info.dtype.bits == 16 && info.dtype.code != uint8_t(dtype_code::Float)), where, name,
          "float32 or bfloat16 elements", dtype_name(info.dtype));
  require(info.shape.size() == 2, where, name, "a 2-D array [rows, cols]", shape_string(info.shape));
  check_array(info, where, name, {f32 ? Elem::kF32 : Elem::kBf16, {-1, -1}, Place::host()});
  require_cols(info.shape[1], where, name);
  return info;
}

std::tuple<nb::ndarray<nb::numpy, uint8_t>, nb::ndarray<nb::numpy, uint8_t>> quantize(
    const InArray& x, float global_scale, const std::string& layout_name) {
  static constexpr const char* kWhere = "quantize_nvfp4";
  const ScaleLayout layout = parse_scale_layout(layout_name, kWhere);
  const ArrayInfo info = float_matrix(x, kWhere, "x");
  const bool f32 = is_float32(info);
  const int64_t rows = info.shape[0], cols = info.shape[1];
  require(std::isfinite(global_scale) && global_scale > 0.0f, kWhere, "global_scale",
          "a finite positive float (448 * 6 / amax)", std::to_string(global_scale));
  auto packed = new_numpy<uint8_t>({size_t(rows), size_t(cols / 2)});
  auto scales = new_numpy<uint8_t>(scale_shape(layout, rows, cols));
  nb::gil_scoped_release release;
  if (f32) {
    quantize_nvfp4(static_cast<const float*>(x.data()), rows, cols, global_scale, packed.data(), scales.data(), layout);
  } else {
    quantize_nvfp4(static_cast<const bf16*>(x.data()), rows, cols, global_scale, packed.data(), scales.data(),
                   layout);
  }
  return {packed, scales};
}

// The ModelOpt recipe on one weight matrix: (packed, linear scales, weight_scale_2).
std::tuple<nb::ndarray<nb::numpy, uint8_t>, nb::ndarray<nb::numpy, uint8_t>, float> quantize_weight_array(
    const InArray& w) {
  static constexpr const char* kWhere = "quantize_weight";
  const ArrayInfo info = float_matrix(w, kWhere, "w");
  const bool f32 = is_float32(info);
  const int64_t rows = info.shape[0], cols = info.shape[1];
  QuantizedWeight q;
  {
    nb::gil_scoped_release release;
    q = f32 ? quantize_weight(static_cast<const float*>(w.data()), rows, cols)
            : quantize_weight(static_cast<const bf16*>(w.data()), rows, cols);
  }
  require(std::isfinite(q.scale_2), kWhere, "w", "finite weights", "NaN or Inf");
  auto packed = new_numpy<uint8_t>({size_t(rows), size_t(cols / 2)});
  auto scales = new_numpy<uint8_t>(scale_shape(ScaleLayout::kLinear, rows, cols));
  std::copy(q.packed.begin(), q.packed.end(), packed.data());
  std::copy(q.scales.begin(), q.scales.end(), scales.data());
  return {packed, scales, q.scale_2};
}

nb::ndarray<nb::numpy, float> dequantize(const InArray& packed, const InArray& scales, float scale_mult,
                                         const std::string& layout_name, int64_t cols) {
  static constexpr const char* kWhere = "dequantize_nvfp4";
  const ScaleLayout layout = parse_scale_layout(layout_name, kWhere);
  const ArrayInfo p = checked(packed, kWhere, "packed", {Elem::kU8, {-1, -1}, Place::host()});
  const int64_t rows = p.shape[0];
  if (cols < 0) cols = 2 * p.shape[1];
  require_cols(cols, kWhere, "cols");
  require(p.shape[1] == cols / 2, kWhere, "packed", "shape [rows, cols/2] = [" + std::to_string(rows) + ", " +
          std::to_string(cols / 2) + "]", shape_string(p.shape));
  checked(scales, kWhere, "scales", {Elem::kU8, {}, Place::host(), scale_bytes(layout, rows, cols)});
  auto out = new_numpy<float>({size_t(rows), size_t(cols)});
  nb::gil_scoped_release release;
  dequantize_nvfp4(static_cast<const uint8_t*>(packed.data()), static_cast<const uint8_t*>(scales.data()), rows, cols,
                   layout, scale_mult, out.data());
  return out;
}

nb::ndarray<nb::numpy, uint8_t> swizzle(const InArray& linear) {
  static constexpr const char* kWhere = "swizzle_scales";
  const ArrayInfo l = checked(linear, kWhere, "scales", {Elem::kU8, {-1, -1}, Place::host()});
  const int64_t rows = l.shape[0], cols = l.shape[1] * kNvfp4BlockSize;
  auto out = new_numpy<uint8_t>(scale_shape(ScaleLayout::kSwizzled128x4, rows, cols));
  swizzle_scales(static_cast<const uint8_t*>(linear.data()), rows, cols, out.data());
  return out;
}

nb::ndarray<nb::numpy, uint8_t> unswizzle(const InArray& swizzled, int64_t rows, int64_t cols) {
  static constexpr const char* kWhere = "unswizzle_scales";
  require(rows >= 0, kWhere, "rows", "a non-negative row count", rows);
  require_cols(cols, kWhere, "cols");
  const int64_t bytes = scale_bytes(ScaleLayout::kSwizzled128x4, rows, cols);
  checked(swizzled, kWhere, "swizzled", {Elem::kU8, {}, Place::host(), bytes});
  auto out = new_numpy<uint8_t>(scale_shape(ScaleLayout::kLinear, rows, cols));
  unswizzle_scales(static_cast<const uint8_t*>(swizzled.data()), rows, cols, out.data());
  return out;
}

// An MXFP4 matrix from the host: codes [rows, K/2] (or gpt-oss's [rows, K/32, 16]) and E8M0 scales
// [rows, K/32]; returns K.
int64_t mxfp4_matrix(const InArray& blocks, const InArray& scales, const char* where, int64_t& rows) {
  const ArrayInfo s = checked(scales, where, "scales", {Elem::kU8, {-1, -1}, Place::host()});
  rows = s.shape[0];
  const int64_t k = s.shape[1] * kMxfp4BlockSize;
  const ArrayInfo b = describe(blocks);
  const std::vector<int64_t> flat = {rows, k / 2}, grouped = {rows, k / kMxfp4BlockSize, kMxfp4BlockSize / 2};
  check_array(b, where, "blocks", {Elem::kU8, b.shape.size() == 3 ? grouped : flat, Place::host()});
  return k;
}

// MXFP4 -> NVFP4 (format/mxfp4.h): (packed, linear scales, weight_scale_2, inexact_blocks).
std::tuple<nb::ndarray<nb::numpy, uint8_t>, nb::ndarray<nb::numpy, uint8_t>, float, int64_t> from_mxfp4(
    const InArray& blocks, const InArray& scales) {
  int64_t rows = 0;
  const int64_t k = mxfp4_matrix(blocks, scales, "nvfp4_from_mxfp4", rows);
  Nvfp4FromMxfp4 n;
  {
    nb::gil_scoped_release release;
    n = nvfp4_from_mxfp4(static_cast<const uint8_t*>(blocks.data()), static_cast<const uint8_t*>(scales.data()),
                         rows, k);
  }
  auto packed = new_numpy<uint8_t>({size_t(rows), size_t(k / 2)});
  auto out_scales = new_numpy<uint8_t>(scale_shape(ScaleLayout::kLinear, rows, k));
  std::copy(n.weight.packed.begin(), n.weight.packed.end(), packed.data());
  std::copy(n.weight.scales.begin(), n.weight.scales.end(), out_scales.data());
  return {packed, out_scales, n.weight.scale_2, n.inexact_blocks};
}

nb::ndarray<nb::numpy, float> dequantize_mx(const InArray& blocks, const InArray& scales) {
  int64_t rows = 0;
  const int64_t k = mxfp4_matrix(blocks, scales, "dequantize_mxfp4", rows);
  auto out = new_numpy<float>({size_t(rows), size_t(k)});
  nb::gil_scoped_release release;
  dequantize_mxfp4(static_cast<const uint8_t*>(blocks.data()), static_cast<const uint8_t*>(scales.data()), rows, k,
                   out.data());
  return out;
}

float array_amax(const InArray& x) {
  ArrayInfo info = describe(x);
  const bool f32 = is_float32(info);
  check_array(info, "amax", "x", {f32 ? Elem::kF32 : Elem::kBf16, info.shape, Place::host()});
  nb::gil_scoped_release release;
  return f32 ? amax(static_cast<const float*>(x.data()), info.size())
             : amax(static_cast<const bf16*>(x.data()), info.size());
}

}  // namespace

ScaleLayout parse_scale_layout(const std::string& name, const char* where) {
  if (name == "linear") return ScaleLayout::kLinear;
  require(name == "swizzled", where, "scale_layout", "\"linear\" or \"swizzled\" (128x4 tiles)", "\"" + name + "\"");
  return ScaleLayout::kSwizzled128x4;
}

void bind_quantize(nb::module_& m) {
  m.def("quantize_nvfp4", &quantize, nb::arg("x"), nb::arg("global_scale"), nb::arg("scale_layout") = "linear");
  m.def("quantize_weight", &quantize_weight_array, nb::arg("w"));
  m.def("dequantize_nvfp4", &dequantize, nb::arg("packed"), nb::arg("scales"), nb::arg("scale_mult"),
        nb::arg("scale_layout") = "linear", nb::arg("cols") = -1);
  m.def("swizzle_scales", &swizzle, nb::arg("scales"));
  m.def("unswizzle_scales", &unswizzle, nb::arg("swizzled"), nb::arg("rows"), nb::arg("cols"));
  m.def("amax", &array_amax, nb::arg("x"));
  m.def("nvfp4_from_mxfp4", &from_mxfp4, nb::arg("blocks"), nb::arg("scales"));
  m.def("dequantize_mxfp4", &dequantize_mx, nb::arg("blocks"), nb::arg("scales"));
  m.def("global_scale_from_amax", [](float amax_value) { return global_scale_from_amax(amax_value); },
        nb::arg("amax"));
}

}  // namespace fp4moe::bindings
