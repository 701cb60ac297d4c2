// Backend-independent forward runner (run_layer.h).
#include "common/run_layer.h"

#include <limits>

#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe::testing {
namespace {

template <class T>
Buffer upload(Backend backend, const std::vector<T>& host) {
  Buffer b(backend, host.size() * sizeof(T));
  b.copy_from_host(host.data(), b.size());
  return b;
}

}  // namespace

std::vector<bf16> run_forward(MoeLayer& layer, const std::vector<bf16>& x, const Routing& routing) {
  const Backend backend = layer.backend();
  const size_t out_elems = size_t(routing.num_tokens) * size_t(layer.config().hidden);
  Buffer x_dev = upload(backend, x), ids = upload(backend, routing.ids), weights = upload(backend, routing.weights);
  Buffer out(backend, out_elems * sizeof(bf16));
  out.fill(0xFF);  // BF16 0xFFFF is NaN
  const Buffer workspace = poisoned_workspace(layer, routing.num_tokens);
  ForwardArgs args;
  args.num_tokens = routing.num_tokens;
  args.x = static_cast<const bf16*>(x_dev.data());
  args.topk_ids = static_cast<const int32_t*>(ids.data());
  args.topk_weights = static_cast<const float*>(weights.data());
  args.out = static_cast<bf16*>(out.data());
  layer.forward(args, workspace.data(), workspace.size(), nullptr);
  std::vector<bf16> host(out_elems);
  out.copy_to_host(host.data(), host.size() * sizeof(bf16));
  return host;
}

Buffer poisoned_workspace(const MoeLayer& layer, int num_tokens) {
  Buffer workspace(layer.backend(), layer.workspace_bytes(num_tokens));
  workspace.fill(0xFF);  // forward() may assume nothing of it: no zeroed counters, no earlier forward's state
  return workspace;
}

std::vector<double> run_reference(const MoeLayer& cpu_layer, const std::vector<bf16>& x, const Routing& routing) {
  ForwardArgs args;
  args.num_tokens = routing.num_tokens;
  args.x = x.data();
  args.topk_ids = routing.ids.data();
  args.topk_weights = routing.weights.data();
  std::vector<double> out(size_t(routing.num_tokens) * size_t(cpu_layer.config().hidden),
                          std::numeric_limits<double>::quiet_NaN());
  reference_forward_f64(cpu_layer, args, out.data());
  return out;
}

}  // namespace fp4moe::testing
