// `fp4moe demo`: a small built-in MoE layer (8 experts, hidden 256, intermediate 512, top-2) with
// seeded random BF16 weights, quantized to NVFP4 and run on the best backend available. Prints the
// error against the unquantized BF16 layer and against the exact NVFP4 float64 reference, and the
// median time of a forward. Exits 1 when the reference error breaks the spec's bound.
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/layer_run.h"
#include "fp4moe/fp4moe.h"
#include "util/parallel.h"

#if FP4MOE_WITH_CUDA
#include <cuda_runtime.h>

#endif

namespace fp4moe::cli {
namespace {

constexpr int kExperts = 8, kHidden = 256, kIntermediate = 512, kTopK = 2;
constexpr int kTimedRuns = 20;
constexpr double kReferenceBound = 1e-2;  // spec section 6

struct DemoOptions {
  bool force_cpu = false;
  int tokens = 64;
  MoeConfig config;
  uint64_t seed = 1;
  int threads = 0;
};

DemoOptions parse_options(const Argv& argv) {
  const Args args(argv, demo_command().line);
  require(args.positional().empty(), args.command(), "arguments", "only options (see " + args.command() + " --help)",
          args.positional().empty() ? "" : args.positional()[0]);
  DemoOptions o;
  o.force_cpu = args.has("cpu");
  const long long tokens = args.get_int("tokens", 64), threads = args.get_int("threads", 0);
  require(tokens >= 1 && tokens <= 65536, args.command(), "--tokens", "1..65536", tokens);
  require(threads >= 0 && threads <= 1024, args.command(), "--threads", "0 (all cores)..1024", threads);
  o.tokens = int(tokens);
  o.threads = int(threads);
  o.seed = uint64_t(args.get_int("seed", 1));
  o.config.num_experts = kExperts;
  o.config.hidden = kHidden;
  o.config.intermediate = kIntermediate;
  o.config.top_k = kTopK;
  o.config.max_tokens = o.tokens;
  o.config.mode = parse_quant_mode(args.get("mode", "w4a16"), args.command(), "--mode");
  o.config.activation.kind = parse_activation(args.get("activation", "silu"), args.command(), "--activation");
  return o;
}

// ---- The model: BF16 weights and their NVFP4 quantization ----

struct Bf16Expert {
  std::vector<bf16> gate, up;  // [I, H]
  std::vector<bf16> down;      // [H, I]
};

struct Nvfp4Expert {
  QuantizedWeight gate, up, down;
  ExpertWeightsView view() const { return {weight_view(gate), weight_view(up), weight_view(down)}; }
};

std::vector<bf16> gaussian_bf16(size_t n, double stddev, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, stddev);
  std::vector<bf16> v(n);
  for (bf16& x : v) x = float_to_bf16(float(normal(rng)));
  return v;
}

std::vector<Bf16Expert> make_bf16_experts(std::mt19937_64& rng) {
  std::vector<Bf16Expert> experts(kExperts);
  const size_t n = size_t(kHidden) * kIntermediate;
  for (Bf16Expert& e : experts) {
    // gate and up get different ranges, so their weight_scale_2 differ as in real checkpoints.
    e.gate = gaussian_bf16(n, 1.0 / std::sqrt(double(kHidden)), rng);
    e.up = gaussian_bf16(n, 1.5 / std::sqrt(double(kHidden)), rng);
    e.down = gaussian_bf16(n, 1.0 / std::sqrt(double(kIntermediate)), rng);
  }
  return experts;
}

Nvfp4Expert quantize_expert(const Bf16Expert& e) {
  return {quantize_weight(e.gate.data(), kIntermediate, kHidden), quantize_weight(e.up.data(), kIntermediate, kHidden),
          quantize_weight(e.down.data(), kHidden, kIntermediate)};
}

// ---- The unquantized layer, in double ----

std::vector<float> to_float(const std::vector<bf16>& v) {
  std::vector<float> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = bf16_to_float(v[i]);
  return f;
}

std::vector<double> bf16_layer_forward(const MoeConfig& c, const std::vector<Bf16Expert>& experts,
                                       const ForwardArgs& args, int threads) {
  std::vector<double> out(size_t(args.num_tokens) * c.hidden, 0.0);
  for (int e = 0; e < c.num_experts; ++e) {
    const Bf16Expert& w = experts[size_t(e)];
    const std::vector<float> gate = to_float(w.gate), up = to_float(w.up), down = to_float(w.down);
    add_unquantized_expert_f64(c, e, {gate.data(), up.data(), down.data()}, args, out.data(), threads);
  }
  return out;
}

// ---- Running the layer on its backend ----

std::string device_name(Backend backend, int threads) {
  if (backend == Backend::kCpu) return "CPU (" + std::to_string(resolve_threads(threads)) + " threads)";
#if FP4MOE_WITH_CUDA
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess)
    return std::string("CUDA device ") + std::to_string(device) + ": " + prop.name;
#endif
  return "CUDA";
}

}  // namespace

int run_demo(const Argv& argv) {
  const DemoOptions o = parse_options(argv);
  const MoeConfig& c = o.config;
  std::mt19937_64 rng(o.seed);
  const std::vector<Bf16Expert> bf16_experts = make_bf16_experts(rng);
  std::vector<Nvfp4Expert> experts;
  for (const Bf16Expert& e : bf16_experts) experts.push_back(quantize_expert(e));

  const std::vector<bf16> x = gaussian_bf16(size_t(o.tokens) * c.hidden, 1.0, rng);
  std::vector<float> logits(size_t(o.tokens) * c.num_experts);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& l : logits) l = normal(rng);
  RoutingParams routing;
  routing.top_k = c.top_k;
  routing.renormalize = true;
  std::vector<int32_t> ids(size_t(o.tokens) * c.top_k);
  std::vector<float> weights(ids.size());
  route(logits.data(), o.tokens, c.num_experts, routing, ids.data(), weights.data());

  BackendOptions options;
  options.cpu_threads = o.threads;
  const Backend backend = !o.force_cpu && cuda_backend_available() ? Backend::kCuda : Backend::kCpu;
  auto layer = make_moe_layer(c, backend, options);
  auto reference_layer = backend == Backend::kCpu ? nullptr : make_moe_layer(c, Backend::kCpu, options);
  MoeLayer& cpu_layer = reference_layer ? *reference_layer : *layer;
  for (int e = 0; e < c.num_experts; ++e) {
    layer->load_expert(e, experts[size_t(e)].view());
    if (reference_layer) reference_layer->load_expert(e, experts[size_t(e)].view());
  }

  const Timed run = run_forward(*layer, x, {ids, weights, "random logits"}, o.tokens, kTimedRuns);
  ForwardArgs args;
  args.num_tokens = o.tokens;
  args.x = x.data();
  args.topk_ids = ids.data();
  args.topk_weights = weights.data();
  std::vector<double> nvfp4_ref(x.size());
  reference_forward_f64(cpu_layer, args, nvfp4_ref.data());
  const std::vector<double> bf16_ref = bf16_layer_forward(c, bf16_experts, args, o.threads);
  const double err_ref = rel_error(run.out, nvfp4_ref), err_bf16 = rel_error(run.out, bf16_ref);
  const std::set<int32_t> touched(ids.begin(), ids.end());

  std::printf("fp4moe demo\n");
  std::printf("  backend        %s\n", device_name(backend, o.threads).c_str());
  std::printf("  layer          %d experts, hidden %d, intermediate %d, top-%d, %s, %s\n", c.num_experts, c.hidden,
              c.intermediate, c.top_k, std::string(to_string(c.activation.kind)).c_str(),
              std::string(to_string(c.mode)).c_str());
  std::printf("  tokens         %d (seed %llu), experts touched: %zu of %d\n", o.tokens,
              static_cast<unsigned long long>(o.seed), touched.size(), c.num_experts);
  std::printf("  rel error vs BF16 layer (unquantized weights):   %.3e  (the cost of NVFP4)\n", err_bf16);
  std::printf("  rel error vs NVFP4 float64 reference:            %.3e  (bound %.0e)\n", err_ref, kReferenceBound);
  std::printf("  forward time   %.3f ms (median of %d %s)\n", run.median_us * 1e-3, kTimedRuns,
              backend == Backend::kCuda ? "CUDA-graph replays" : "runs");
  if (!(err_ref <= kReferenceBound)) {
    std::printf("FAIL: the error against the NVFP4 reference exceeds %.0e\n", kReferenceBound);
    return 1;
  }
  std::printf("OK\n");
  return 0;
}

const Command& demo_command() {
  static const Command command{
      {"fp4moe demo",
       "",
       {{"cpu", "", "run on the CPU backend even where a GPU is available"},
        {"tokens", "T", "tokens in the batch, 1..65536 (default 64)"},
        {"mode", "MODE", "w4a16 (default), or w4a4: activations quantized to NVFP4 too"},
        {"activation", "NAME", "silu (default), silu_clamped, swiglu_oai or gelu_tanh"},
        {"seed", "S", "seed of the weights, tokens and routing (default 1)"},
        {"threads", "N", "CPU backend threads, 0 for all cores (default 0)"}},
       "  Builds a small MoE layer (" + std::to_string(kExperts) + " experts, hidden " + std::to_string(kHidden) +
           ", intermediate " + std::to_string(kIntermediate) + ", top-" + std::to_string(kTopK) +
           ")\n"
           "  with seeded random BF16 weights, quantizes it to NVFP4, runs it (CUDA when available, else\n"
           "  CPU) and prints its error against the BF16 layer and against the NVFP4 float64 reference,\n"
           "  and the median forward time. Exits 1 when the reference error breaks the spec's bound (1e-2).\n"},
      "run a small built-in NVFP4 MoE layer and report its error and time",
      run_demo};
  return command;
}

}  // namespace fp4moe::cli
