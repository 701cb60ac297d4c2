// add_unquantized_expert_f64 (reference.h): the layer before quantization, in double, one expert at
// a time. Each GEMM splits its weight rows over threads and every output element is one thread's
// sum in a fixed order, so the result does not depend on the thread count.
#include <string>
#include <vector>

#include "fp4moe/error.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/activation.h"
#include "fp4moe/moe/reference.h"
#include "moe/backends.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

constexpr const char* kWhere = "add_unquantized_expert_f64";

double dot(const double* a, const float* w, int64_t n) {
  double sum = 0.0;
  for (int64_t k = 0; k < n; ++k) sum += a[k] * double(w[k]);
  return sum;
}

double bias_at(const float* bias, int64_t row) { return bias == nullptr ? 0.0 : double(bias[row]); }

}  // namespace

void add_unquantized_expert_f64(const MoeConfig& config, int local_expert, const UnquantizedExpertView& w,
                                const ForwardArgs& args, double* out, int threads) {
  validate(config);
  require(local_expert >= 0 && local_expert < config.num_local_experts(), kWhere, "local_expert",
          "0..num_local_experts - 1 (" + std::to_string(config.num_local_experts() - 1) + ")", local_expert);
  require(w.gate != nullptr && w.up != nullptr && w.down != nullptr, kWhere, "weights",
          "gate, up and down weights (non-null)", "a null projection");
  validate_token_count(config, args.num_tokens, kWhere);
  if (args.num_tokens == 0) return;
  validate_input_pointers(args, kWhere, "a non-null pointer");
  require(out != nullptr, kWhere, "out", "a non-null pointer", "null");

  const int64_t H = config.hidden, I = config.intermediate, k = config.top_k;
  const int64_t id = int64_t(config.local_expert_start) + local_expert;
  std::vector<int64_t> slots;  // (t, j) as t * k + j, in that order
  for (int64_t s = 0; s < int64_t(args.num_tokens) * k; ++s)
    if (args.topk_ids[s] == id) slots.push_back(s);
  if (slots.empty()) return;
  const int64_t pairs = int64_t(slots.size());

  std::vector<double> x(size_t(pairs * H)), h(size_t(pairs * I));
  for (int64_t p = 0; p < pairs; ++p)
    for (int64_t c = 0; c < H; ++c) x[size_t(p * H + c)] = bf16_to_float(args.x[slots[size_t(p)] / k * H + c]);
  parallel_for(I, threads, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t p = 0; p < pairs; ++p) {
        const double gate = dot(&x[size_t(p * H)], w.gate + n * H, H) + bias_at(w.gate_bias, n);
        const double up = dot(&x[size_t(p * H)], w.up + n * H, H) + bias_at(w.up_bias, n);
        h[size_t(p * I + n)] = apply_activation<double>(config.activation, gate, up);
      }
    }
  });
  // Each thread owns output columns [begin, end): it adds the pairs in slot order, so a token that
  // names this expert in two slots gets both, in a fixed order.
  parallel_for(H, threads, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t p = 0; p < pairs; ++p) {
        const int64_t slot = slots[size_t(p)];
        const double y = dot(&h[size_t(p * I)], w.down + n * I, I) + bias_at(w.down_bias, n);
        out[slot / k * H + n] += double(args.topk_weights[slot]) * y;
      }
    }
  });
}

}  // namespace fp4moe
