#include "cli/bench_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "fp4moe/error.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe::cli {
namespace {

// Added to the hot experts' logits of the skewed tokens: exp(30) dwarfs any Gaussian gap, so every
// skewed token has all hot experts in its top-k.
constexpr float kSkewLogitBoost = 30.0f;

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace

const std::vector<BenchShape>& bench_shapes() {
  static const std::vector<BenchShape> shapes = {
      {"qwen3-30b-a3b", 128, 2048, 768, 8},
      {"gpt-oss-120b", 128, 2880, 2880, 4},
      {"deepseek-v4-flash", 256, 4096, 2048, 6},
      {"deepseek-v3", 256, 7168, 2048, 8},
  };
  return shapes;
}

std::vector<BenchShape> parse_bench_shapes(const std::string& text, const std::string& command,
                                           const std::string& option) {
  if (text == "all") return bench_shapes();
  std::string names;
  for (const BenchShape& s : bench_shapes()) names += (names.empty() ? "" : ", ") + s.name;
  std::vector<BenchShape> shapes;
  for (const std::string& name : split_commas(text)) {
    const auto it = std::find_if(bench_shapes().begin(), bench_shapes().end(),
                                 [&](const BenchShape& s) { return s.name == name; });
    require(it != bench_shapes().end(), command, option, "'all' or a comma list of " + names, "'" + name + "'");
    shapes.push_back(*it);
  }
  require(!shapes.empty(), command, option, "'all' or a comma list of " + names, "'" + text + "'");
  return shapes;
}

std::vector<Option> shape_options(std::vector<Option> then) {
  std::vector<Option> options = {
      {"shapes", "LIST",
       "'all' (default) or a comma list of qwen3-30b-a3b, gpt-oss-120b, deepseek-v4-flash, deepseek-v3"},
      {"experts", "E", "a custom shape instead: its experts, with --hidden, --intermediate and --top-k"},
      {"hidden", "H", "the custom shape's hidden size, a multiple of 16"},
      {"intermediate", "I", "the custom shape's intermediate size, a multiple of 16"},
      {"top-k", "K", "the custom shape's experts per token"}};
  options.insert(options.end(), then.begin(), then.end());
  return options;
}

std::vector<BenchShape> shapes_from_args(const Args& args) {
  const char* sizes[] = {"experts", "hidden", "intermediate", "top-k"};
  bool custom = false;
  for (const char* size : sizes) custom = custom || args.has(size);
  if (!custom) return parse_bench_shapes(args.get("shapes", "all"), args.command(), "--shapes");
  long long v[4];
  for (int i = 0; i < 4; ++i) {
    require(args.has(sizes[i]), args.command(), std::string("--") + sizes[i],
            "given too: a custom shape takes --experts, --hidden, --intermediate and --top-k", "nothing");
    v[i] = args.get_int(sizes[i], 0);
  }
  require(!args.has("shapes"), args.command(), "--shapes", "to be left out with a custom shape (--experts ...)",
          args.get("shapes", ""));
  require(v[0] >= 1 && v[0] <= 4096, args.command(), "--experts", "1..4096", v[0]);
  require(v[1] >= 16 && v[1] % 16 == 0 && v[1] <= 65536, args.command(), "--hidden", "a multiple of 16, 16..65536",
          v[1]);
  require(v[2] >= 16 && v[2] % 16 == 0 && v[2] <= 65536, args.command(), "--intermediate",
          "a multiple of 16, 16..65536", v[2]);
  require(v[3] >= 1 && v[3] <= v[0], args.command(), "--top-k", "1..--experts (" + std::to_string(v[0]) + ")", v[3]);
  return {{"custom", int(v[0]), int(v[1]), int(v[2]), int(v[3])}};
}

ActivationQuant quant_from_args(const Args& args) {
  ActivationQuant q;
  q.mode = parse_quant_mode(args.get("mode", "w4a16"), args.command(), "--mode");
  const std::string scales = args.get("scales", "dynamic");
  require(scales == "dynamic" || scales == "calibrated", args.command(), "--scales", "dynamic or calibrated",
          "'" + scales + "'");
  q.calibrated = scales == "calibrated";
  require(!q.calibrated || q.mode == QuantMode::kW4A4, args.command(), "--scales",
          "calibrated only with --mode w4a4 (W4A16 has no activation scales)", "calibrated with --mode w4a16");
  return q;
}

MoeConfig layer_config(const BenchShape& shape, QuantMode mode, int max_tokens) {
  MoeConfig c;
  c.num_experts = shape.experts;
  c.hidden = shape.hidden;
  c.intermediate = shape.intermediate;
  c.top_k = shape.top_k;
  c.mode = mode;
  c.max_tokens = max_tokens;
  return c;
}

std::vector<int> parse_token_list(const std::string& text, const std::string& command, const std::string& option,
                                  int max_tokens) {
  const std::string expected = "a comma list of token batches, each 1.." + std::to_string(max_tokens);
  std::vector<int> tokens;
  for (const std::string& item : split_commas(text)) {
    size_t end = 0;
    long long t = 0;
    try {
      t = std::stoll(item, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    require(end == item.size() && t >= 1 && t <= max_tokens, command, option, expected, "'" + text + "'");
    tokens.push_back(int(t));
  }
  require(!tokens.empty(), command, option, expected, "'" + text + "'");
  return tokens;
}

const char* to_string(RoutingKind kind) { return kind == RoutingKind::kSkewed ? "skewed" : "uniform"; }

std::vector<BenchRow> bench_rows(const std::vector<int>& tokens, bool skewed) {
  std::vector<BenchRow> rows;
  for (int t : tokens) {
    rows.push_back({t, RoutingKind::kUniform});
    if (skewed && t >= kSkewMinTokens) rows.push_back({t, RoutingKind::kSkewed});
  }
  return rows;
}

BenchRouting bench_routing(const BenchShape& shape, const BenchRow& row, uint64_t seed) {
  const int T = row.tokens, E = shape.experts, k = shape.top_k;
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(T), uint32_t(E), uint32_t(k),
                    uint32_t(row.routing)};
  std::mt19937_64 rng(seq);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> logits(size_t(T) * E);
  for (float& l : logits) l = normal(rng);
  if (row.routing == RoutingKind::kSkewed) {
    std::vector<int> experts(static_cast<size_t>(E)), hot, order(static_cast<size_t>(T));
    std::iota(experts.begin(), experts.end(), 0);
    std::sample(experts.begin(), experts.end(), std::back_inserter(hot), std::min(kSkewHotExperts, E), rng);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < T / 2; ++i)
      for (int e : hot) logits[size_t(order[size_t(i)]) * E + e] += kSkewLogitBoost;
  }
  RoutingParams params;
  params.top_k = k;
  params.renormalize = true;
  BenchRouting r;
  r.ids.resize(size_t(T) * k);
  r.weights.resize(r.ids.size());
  route(logits.data(), T, E, params, r.ids.data(), r.weights.data());
  r.touched = int(std::set<int32_t>(r.ids.begin(), r.ids.end()).size());
  return r;
}

Floor moe_floor(const BenchShape& shape, int tokens, int touched, bool biases, double copy_bytes_per_s,
                double bf16_flops_per_s) {
  Floor f;
  const double activation_bytes = 2.0 * tokens * shape.hidden * 2;  // x in, y out, BF16
  f.bytes = touched * shape.expert_bytes(biases) + activation_bytes;
  f.flops = 2.0 * tokens * shape.top_k * double(shape.expert_elements());
  f.bytes_s = f.bytes / copy_bytes_per_s;
  f.flops_s = f.flops / bf16_flops_per_s;
  return f;
}

int copies_to_defeat_l2(double touched_bytes_per_copy, int64_t l2_bytes) {
  if (touched_bytes_per_copy <= 0) return 1;
  return std::max(1, int(std::ceil(kL2RotationFactor * double(l2_bytes) / touched_bytes_per_copy)));
}

int copies_within_budget(int wanted, double bytes_per_copy, double budget_bytes) {
  const int fitting = bytes_per_copy > 0 ? int(std::min(budget_bytes / bytes_per_copy, 1e9)) : wanted;
  return std::max(1, std::min(wanted, fitting));
}

}  // namespace fp4moe::cli
