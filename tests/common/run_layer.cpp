// Backend-independent forward runner (run_layer.h).
#include "common/run_layer.h"

#include <limits>

#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe::testing {

std::vector<bf16> run_forward(MoeLayer& layer, const std::vector<bf16>& x, const Routing& routing) {
  return run_forward(layer, x, routing, poisoned_workspace(layer, routing.num_tokens));
}

std::vector<bf16> run_forward(MoeLayer& layer, const std::vector<bf16>& x, const Routing& routing,
                              const Buffer& workspace) {
  const Backend backend = layer.backend();
  const size_t out_elems = size_t(routing.num_tokens) * size_t(layer.config().hidden);
  const Buffer x_dev = Buffer::copy_of(backend, x), ids = Buffer::copy_of(backend, routing.ids),
               weights = Buffer::copy_of(backend, routing.weights);
  Buffer out(backend, out_elems * sizeof(bf16));
  out.fill(0xFF);  // BF16 0xFFFF is NaN
  ForwardArgs args;
  args.num_tokens = routing.num_tokens;
  args.x = static_cast<const bf16*>(x_dev.data());
  args.topk_ids = static_cast<const int32_t*>(ids.data());
  args.topk_weights = static_cast<const float*>(weights.data());
  args.out = static_cast<bf16*>(out.data());
  layer.forward(args, workspace.data(), workspace.size(), nullptr);
  return out.to_vector<bf16>(out_elems);
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
