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

// What both entry points check and build alike: logits float32 [T, E] and a correction_bias [E] at
// `place`, top_k in 1..E, the method's parameters (route() and route_on_device() check the rest).
struct RouteCall {
  int tokens = 0, experts = 0;
  RoutingParams params;
};

RouteCall route_call(const InArray& logits, int top_k, const std::string& method, bool renormalize, int num_groups,
                     int topk_group, float routed_scaling_factor, const std::optional<InArray>& correction_bias,
                     const Place& place) {
  static constexpr const char* kWhere = "route";
  const ArrayInfo l = checked(logits, kWhere, "logits", {Elem::kF32, {-1, -1}, place});
  const int64_t tokens = l.shape[0], experts = l.shape[1];
  require(tokens <= INT32_MAX && experts <= INT32_MAX, kWhere, "logits", "at most 2^31 - 1 rows and columns",
          shape_string(l.shape));
  require(top_k >= 1 && top_k <= experts, kWhere, "top_k", "1..num_experts (" + std::to_string(experts) + ")",
          top_k);
  RouteCall call{int(tokens), int(experts), {}};
  call.params.method = parse_routing_method(method, kWhere, "method");
  call.params.top_k = top_k;
  call.params.renormalize = renormalize;
  call.params.num_groups = num_groups;
  call.params.topk_group = topk_group;
  call.params.routed_scaling_factor = routed_scaling_factor;
  if (correction_bias) {
    checked(*correction_bias, kWhere, "correction_bias", {Elem::kF32, {experts}, place});
    call.params.correction_bias = static_cast<const float*>(correction_bias->data());
  }
  return call;
}

std::tuple<nb::ndarray<nb::numpy, float>, nb::ndarray<nb::numpy, int32_t>> route_logits(
    const InArray& logits, int top_k, const std::string& method, bool renormalize, int num_groups, int topk_group,
    float routed_scaling_factor, const std::optional<InArray>& correction_bias) {
  const RouteCall call = route_call(logits, top_k, method, renormalize, num_groups, topk_group, routed_scaling_factor,
                                    correction_bias, Place::host());
  auto weights = new_numpy<float>({size_t(call.tokens), size_t(top_k)});
  auto ids = new_numpy<int32_t>({size_t(call.tokens), size_t(top_k)});
  nb::gil_scoped_release release;
  route(static_cast<const float*>(logits.data()), call.tokens, call.experts, call.params, ids.data(), weights.data());
  return {weights, ids};
}

// The same on the CUDA device of `logits`, into weights and ids allocated there by the caller
// (python/fp4moe/routing.py), on `stream`.
void route_logits_on_device(const InArray& logits, const OutArray& weights, const OutArray& ids, int top_k,
                            const std::string& method, bool renormalize, int num_groups, int topk_group,
                            float routed_scaling_factor, const std::optional<InArray>& correction_bias,
                            uintptr_t stream) {
  const Place device = Place::cuda_device(int(describe(logits).device_id));
  const RouteCall call = route_call(logits, top_k, method, renormalize, num_groups, topk_group, routed_scaling_factor,
                                    correction_bias, device);
  checked(weights, "route", "topk_weights", {Elem::kF32, {call.tokens, top_k}, device});
  checked(ids, "route", "topk_ids", {Elem::kI32, {call.tokens, top_k}, device});
  nb::gil_scoped_release release;
  DeviceGuard guard(device.device);
  route_on_device(static_cast<const float*>(logits.data()), call.tokens, call.experts, call.params,
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
