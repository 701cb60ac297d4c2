// fp4moe.route: the routing helpers of routing/routing.h (spec section 5) on host arrays, so that
// Python callers get the library's selection rules (ties to the lower expert id, DeepSeek-V3's
// group selection) without writing them again.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "bindings/arrays.h"
#include "bindings/module.h"
#include "fp4moe/error.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe::bindings {
namespace {

std::tuple<nb::ndarray<nb::numpy, float>, nb::ndarray<nb::numpy, int32_t>> route_logits(
    const InArray& logits, int top_k, const std::string& method, bool renormalize, int num_groups, int topk_group,
    float routed_scaling_factor, const std::optional<InArray>& correction_bias) {
  static constexpr const char* kWhere = "route";
  const ArrayInfo l = checked(logits, kWhere, "logits", {Elem::kF32, {-1, -1}, Place::host()});
  const int64_t tokens = l.shape[0], experts = l.shape[1];
  RoutingParams params;
  params.method = parse_routing_method(method, kWhere, "method");
  params.top_k = top_k;
  params.renormalize = renormalize;
  params.num_groups = num_groups;
  params.topk_group = topk_group;
  params.routed_scaling_factor = routed_scaling_factor;
  if (correction_bias) {
    checked(*correction_bias, kWhere, "correction_bias", {Elem::kF32, {experts}, Place::host()});
    params.correction_bias = static_cast<const float*>(correction_bias->data());
  }
  require(tokens <= INT32_MAX && experts <= INT32_MAX, kWhere, "logits", "at most 2^31 - 1 rows and columns",
          shape_string(l.shape));
  require(top_k >= 1 && top_k <= experts, kWhere, "top_k", "1..num_experts (" + std::to_string(experts) + ")",
          top_k);
  auto weights = new_numpy<float>({size_t(tokens), size_t(top_k)});
  auto ids = new_numpy<int32_t>({size_t(tokens), size_t(top_k)});
  nb::gil_scoped_release release;
  route(static_cast<const float*>(logits.data()), int(tokens), int(experts), params, ids.data(), weights.data());
  return {weights, ids};
}

}  // namespace

void bind_routing(nb::module_& m) {
  m.def("route", &route_logits, nb::arg("logits"), nb::arg("top_k"), nb::arg("method"), nb::arg("renormalize"),
        nb::arg("num_groups"), nb::arg("topk_group"), nb::arg("routed_scaling_factor"),
        nb::arg("correction_bias").none());
}

}  // namespace fp4moe::bindings
