// reference_forward_f64 (reference.h): the CPU layer's own steps run with double sums, on the
// weights it holds, so a test compares any backend against the contract on identical weights.
#include "fp4moe/moe/reference.h"

#include "fp4moe/error.h"
#include "moe/cpu_layer.h"

namespace fp4moe {

void reference_forward_f64(const MoeLayer& layer, const ForwardArgs& args, double* out) {
  const auto* cpu = dynamic_cast<const CpuMoeLayer*>(&layer);
  require(cpu != nullptr, "reference_forward_f64", "layer", "a Backend::kCpu layer", "another backend");
  cpu->forward_f64(args, out);
}

}  // namespace fp4moe
