// fp4moe.route: the routing helpers of routing/routing.h (spec section 5) on host arrays, and on
// CUDA tensors by route_on_device, so that Python callers get the library's selection rules (ties to
// the lower expert id, DeepSeek-V3's group selection) without writing them again.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "bindings/arrays.h"
#include "bindings/device_guard.h"
#include "bindings/module.h"
#include "fp4moe/error.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe::bindings {
namespace {

RoutingParams routing_params(int top_k, const std::string& method, bool renormalize, int num_groups, int topk_group,
                             float routed_scaling_factor) {
  RoutingParams params;
  params.method = parse_routing_method(method, "route", "method");
  params.top_k = top_k;
  params.renormalize = renormalize;
  params.num_groups = num_groups;
  params.topk_group = topk_group;
  params.routed_scaling_factor = routed_scaling_factor;
  return params;
}

std::tuple<nb::ndarray<nb::numpy, float>, nb::ndarray<nb::numpy, int32_t>> route_logits(
    const InArray& logits, int top_k, const std::string& method, bool renormalize, int num_groups, int topk_group,
    float routed_scaling_factor, const std::optional<InArray>& correction_bias) {
  static constexpr const char* kWhere = "route";
  const ArrayInfo l = checked(logits, kWhere, "logits", {Elem::kF32, {-1, -1}, Place::host()});
  const int64_t tokens = l.shape[0], experts = l.shape[1];
  RoutingParams params = routing_params(top_k, method, renormalize, num_groups, topk_group, routed_scaling_factor);
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

// The same on the CUDA device of `logits`, into weights and ids allocated there by the caller
// (python/fp4moe/routing.py), on `stream`.
void route_logits_on_device(const InArray& logits, const OutArray& weights, const OutArray& ids, int top_k,
                            const std::string& method, bool renormalize, int num_groups, int topk_group,
                            float routed_scaling_factor, const std::optional<InArray>& correction_bias,
                            uintptr_t stream) {
  static constexpr const char* kWhere = "route";
  const Place device = Place::cuda_device(int(describe(logits).device_id));
  const ArrayInfo l = checked(logits, kWhere, "logits", {Elem::kF32, {-1, -1}, device});
  const int64_t tokens = l.shape[0], experts = l.shape[1];
  require(tokens <= INT32_MAX && experts <= INT32_MAX, kWhere, "logits", "at most 2^31 - 1 rows and columns",
          shape_string(l.shape));
  require(top_k >= 1 && top_k <= experts, kWhere, "top_k", "1..num_experts (" + std::to_string(experts) + ")",
          top_k);
  checked(weights, kWhere, "topk_weights", {Elem::kF32, {tokens, top_k}, device});
  checked(ids, kWhere, "topk_ids", {Elem::kI32, {tokens, top_k}, device});
  RoutingParams params = routing_params(top_k, method, renormalize, num_groups, topk_group, routed_scaling_factor);
  if (correction_bias) {
    checked(*correction_bias, kWhere, "correction_bias", {Elem::kF32, {experts}, device});
    params.correction_bias = static_cast<const float*>(correction_bias->data());
  }
  nb::gil_scoped_release release;
  DeviceGuard guard(device.device);
  route_on_device(static_cast<const float*>(logits.data()), int(tokens), int(experts), params,
                  static_cast<int32_t*>(ids.data()), static_cast<float*>(weights.data()),
                  reinterpret_cast<void*>(stream));
}

}  // namespace

void bind_routing(nb::module_& m) {
  m.def("route", &route_logits, nb::arg("logits"), nb::arg("top_k"), nb::arg("method"), nb::arg("renormalize"),
        nb::arg("num_groups"), nb::arg("topk_group"), nb::arg("routed_scaling_factor"),
        nb::arg("correction_bias").none());
  m.def("route_on_device", &route_logits_on_device, nb::arg("logits"), nb::arg("topk_weights"), nb::arg("topk_ids"),
        nb::arg("top_k"), nb::arg("method"), nb::arg("renormalize"), nb::arg("num_groups"), nb::arg("topk_group"),
        nb::arg("routed_scaling_factor"), nb::arg("correction_bias").none(), nb::arg("stream"));
}

}  // namespace fp4moe::bindings
