// What `fp4moe bench` measures, without a GPU: the benchmark's shapes, its rows (token batches and
// routings), the floor of one forward and how many weight copies to rotate over, by the method of
// ../shared/spec/benchmarking.md and with the same rules as bench/moe_shapes.py and
// bench/moe_routing.py, so that the CLI's figures read like bench_moe.py's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::cli {

inline constexpr double kNvfp4BytesPerElement = 0.5625;  // 4 bits plus one E4M3 byte per 16 elements
inline constexpr int kL2RotationFactor = 4;  // the touched weights of all copies are at least 4 L2 sizes
inline constexpr int kSkewMinTokens = 64;    // below this, "half the tokens to 4 experts" is a handful
inline constexpr int kSkewHotExperts = 4;

struct BenchShape {
  std::string name;
  int experts = 0, hidden = 0, intermediate = 0, top_k = 0;

  // Gate and up [I, H] plus down [H, I].
  int64_t expert_elements() const { return 3 * int64_t(hidden) * intermediate; }
  double nvfp4_expert_bytes() const { return double(expert_elements()) * kNvfp4BytesPerElement; }
  // What a forward reads of one touched expert: its NVFP4 weights, and with `biases` its FP32 gate, up
  // and down biases (2I + H values, as gpt-oss's; `fp4moe bench --bias on`).
  double expert_bytes(bool biases) const {
    return nvfp4_expert_bytes() + (biases ? 4.0 * (2 * int64_t(intermediate) + hidden) : 0.0);
  }
};

// The four benchmark shapes, in the spec's order.
const std::vector<BenchShape>& bench_shapes();

// "all" or a comma list of bench_shapes() names; an unknown name is an error naming `option`.
std::vector<BenchShape> parse_bench_shapes(const std::string& text, const std::string& command,
                                           const std::string& option);

// The options that name shapes, as a command line lists them, and the shapes a command's arguments name
// with them: one custom shape (all four of --experts, --hidden, --intermediate and --top-k) or --shapes, as
// parse_bench_shapes reads it (default "all"); errors name the option.
std::vector<Option> shape_options(std::vector<Option> then = {});  // shape options, then `then`
std::vector<BenchShape> shapes_from_args(const Args& args);

// --mode (default w4a16) and --scales (dynamic, the default, or calibrated: W4A4's activation scales fixed,
// as a checkpoint's input_scale; not in W4A16); errors name the option.
struct ActivationQuant {
  QuantMode mode = QuantMode::kW4A16;
  bool calibrated = false;
};
ActivationQuant quant_from_args(const Args& args);

// A shape's layer: its sizes in `mode`, every expert local, batches of up to max_tokens.
MoeConfig layer_config(const BenchShape& shape, QuantMode mode, int max_tokens);

// A comma list of token batches, each 1..max_tokens.
std::vector<int> parse_token_list(const std::string& text, const std::string& command, const std::string& option,
                                  int max_tokens);

enum class RoutingKind { kUniform, kSkewed };
const char* to_string(RoutingKind kind);

struct BenchRow {
  int tokens = 0;
  RoutingKind routing = RoutingKind::kUniform;
};

// Every batch uniformly routed, and skewed too from kSkewMinTokens tokens when `skewed`.
std::vector<BenchRow> bench_rows(const std::vector<int>& tokens, bool skewed);

// The routing of one row: softmax over seeded Gaussian logits, top-k (ties to the lower id),
// renormalized; skewed rows send half the tokens to the same kSkewHotExperts experts.
struct BenchRouting {
  std::vector<int32_t> ids;    // [T, k]
  std::vector<float> weights;  // [T, k]
  int touched = 0;             // distinct experts
};
BenchRouting bench_routing(const BenchShape& shape, const BenchRow& row, uint64_t seed);

struct Floor {
  double bytes = 0;  // the touched experts' weights (BenchShape::expert_bytes) plus x in and y out
  double flops = 0;  // both GEMMs
  double bytes_s = 0, flops_s = 0;
  double seconds() const { return bytes_s > flops_s ? bytes_s : flops_s; }
  const char* bound() const { return bytes_s >= flops_s ? "memory" : "compute"; }
};
// `biases`: the layer's experts have biases, whose bytes are read as the weights are.
Floor moe_floor(const BenchShape& shape, int tokens, int touched, bool biases, double copy_bytes_per_s,
                double bf16_flops_per_s);

// Copies whose touched weights together are at least kL2RotationFactor L2 sizes.
int copies_to_defeat_l2(double touched_bytes_per_copy, int64_t l2_bytes);
// At most `wanted` copies that fit the budget, and at least one.
int copies_within_budget(int wanted, double bytes_per_copy, double budget_bytes);

}  // namespace fp4moe::cli
