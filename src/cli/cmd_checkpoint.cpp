// The checkpoint subcommands: `fp4moe inspect DIR` (layers, tensors, validation), `fp4moe quantize
// IN OUT` (BF16 -> ModelOpt NVFP4) and `fp4moe run DIR --layer L` (one MoE layer of a real
// checkpoint against the float64 reference, with its median time).
#include <cstdio>
#include <string>
#include <vector>

#include "checkpoint/progress_bar.h"
#include "checkpoint/unquantized_experts.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/layer_run.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/checkpoint/quantize_checkpoint.h"
#include "fp4moe/error.h"
#include "fp4moe/moe/reference.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe::cli {
namespace {

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) v /= 1024.0, ++u;
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string one_positional(const Args& args, size_t index, const char* name) {
  require(args.positional().size() > index, args.command(), name, "a path argument", "nothing");
  return args.positional()[index];
}

std::string routing_summary(const MoeModelConfig& m) {
  if (!m.routing_known) return "none of fp4moe's (" + m.routing_note + ")";
  std::string s(to_string(m.routing.method));
  if (m.routing.method == RoutingMethod::kSoftmaxTopk && m.routing.renormalize) s += " (renormalized)";
  if (m.routing.method == RoutingMethod::kSigmoidGroupedTopk)
    s += " (groups " + std::to_string(m.routing.num_groups) + ", topk_group " + std::to_string(m.routing.topk_group) +
         ", scale " + std::to_string(m.routing.routed_scaling_factor) + ")";
  if (m.router_weight_on_input) s += " (weights applied to the input)";
  return s;
}

std::string layout_summary(const MoeLayerTensors& t) {
  if (t.hf_layout)
    return std::string("Hugging Face [E, K, N] gate_up_proj (gate/up ") +
           (t.gate_up_interleaved ? "interleaved" : "halves") + ")/down_proj";
  if (t.mxfp4) return "gpt-oss MXFP4 [E, N, K/32, 16] gate_up_proj (gate/up rows interleaved)/down_proj";
  std::string s = t.fused_experts ? "per-layer [E, ...] " : "per-expert ";
  s += t.fused_gate_up ? t.gate_name + "/" + t.down_name : t.gate_name + "/" + t.up_name + "/" + t.down_name;
  return s;
}

// "no", or the projections with a bias: "gate_up_proj, down_proj".
std::string bias_summary(const MoeLayerTensors& t) {
  std::string s;
  for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
    if (!t.has_bias(p) || (t.fused_gate_up && p == ExpertProjection::kUp)) continue;
    s += (s.empty() ? "" : ", ") + t.projection_name(p);
  }
  return s.empty() ? "no" : s;
}

// "none", the router's weight, and its Linear bias where it has one (gpt-oss).
std::string router_summary(const MoeLayerTensors& t) {
  if (t.router_weight.empty()) return "none";
  return t.router_linear_bias.empty() ? t.router_weight : t.router_weight + " + " + t.router_linear_bias;
}

void print_layer(const MoeLayerTensors& t) {
  std::printf("  layer %d: %s  %s  %d experts  H %d  I %d  %s  input_scale %s  bias %s  router %s  %d tensors  %s\n",
              t.layer, t.experts_prefix.c_str(), layout_summary(t).c_str(), t.num_experts, t.hidden, t.intermediate,
              t.compressed_tensors ? "NVFP4 (compressed-tensors: weight_packed + F8_E4M3 + weight_global_scale)"
              : t.nvfp4            ? "NVFP4 (U8 + F8_E4M3)"
              : t.mxfp4            ? "MXFP4 (U8 blocks + E8M0 scales)"
                                   : std::string(to_string(t.weight_dtype)).c_str(),
              t.has_input_scale ? "yes" : "no", bias_summary(t).c_str(),
              router_summary(t).c_str(), t.num_tensors, format_bytes(t.bytes).c_str());
  if (!t.problem.empty()) std::printf("    problem: %s\n", t.problem.c_str());
  else if (t.hf_layout)
    std::printf(
        "    note: unquantized Hugging Face transformers layout, not loadable: `fp4moe quantize` converts it\n");
  else if (t.mxfp4)
    std::printf("    note: gpt-oss's MXFP4: converted to NVFP4 as it loads, exactly where its block exponents allow "
                "(`fp4moe quantize` writes the converted checkpoint)\n");
}

// Checks every expert of every loadable layer the way load_moe_layer would (an MXFP4 one without converting
// it); returns the first error.
std::string validate_all(const MoeCheckpoint& ckpt) {
  int64_t total = 0, done = 0;
  for (const auto& t : ckpt.moe_layers()) total += t.nvfp4 || t.mxfp4 ? t.num_experts : 0;
  ProgressBar bar("validating experts", total);
  try {
    for (const auto& t : ckpt.moe_layers()) {
      if (!t.problem.empty()) return "layer " + std::to_string(t.layer) + ": " + t.problem;
      if (!t.nvfp4 && !t.mxfp4) continue;
      ckpt.moe_config(t.layer);
      for (int e = 0; e < t.num_experts; ++e) {
        if (t.mxfp4) {
          check_unquantized_expert(ckpt, t, e);
          for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown})
            read_expert_bias(ckpt, t, e, p);
        } else {
          expert_weights(ckpt, t.layer, e);
        }
        bar.update(++done);
      }
      input_scales(ckpt, t.layer, 0, t.num_experts);
      read_router(ckpt, t.layer);
    }
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// ---- fp4moe run ----

std::unique_ptr<MoeLayer> loaded_layer(const MoeCheckpoint& ckpt, int layer, const MoeConfig& config, Backend backend,
                                       TensorParallelShard shard = {}) {
  auto moe = make_moe_layer(config, backend);
  std::string label = backend == Backend::kCuda ? "loading experts (cuda" : "loading experts (cpu";
  if (shard.size > 1) label += ", rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.size);
  ProgressBar bar(label + ")", config.num_local_experts());
  const LoadReport loaded = load_moe_layer(ckpt, layer, *moe, shard, [&](int done, int) { bar.update(done); });
  if (loaded.inexact_blocks > 0)
    std::printf("note: %lld blocks of 16 of the MXFP4 experts lie beyond NVFP4's exact reach (quantized from their "
                "values)\n",
                static_cast<long long>(loaded.inexact_blocks));
  return moe;
}

// `fp4moe run --tp N`: the layer as N tensor-parallel ranks (moe/tensor_parallel.h), each loaded and
// run in turn on the same batch, their outputs summed in FP32 and rounded once, as an all-reduce
// would. The sum is held to the sum of the ranks' float64 references (each rank's contract; in W4A16
// and calibrated W4A4 that is the unsharded layer's reference) and compared with the unsharded one.
struct RanksRun {
  std::vector<bf16> sum;
  std::vector<double> reference_sum;
  std::vector<double> median_us;
};

RanksRun run_ranks(const MoeCheckpoint& ckpt, int layer, QuantMode mode, int tokens, int tp, Backend backend,
                   const std::vector<bf16>& x, const TokenRouting& routing, int iters) {
  const int hidden = ckpt.moe_layer(layer).hidden;
  std::vector<float> sum(size_t(tokens) * hidden, 0.0f);
  RanksRun r;
  r.reference_sum.assign(sum.size(), 0.0);
  for (int rank = 0; rank < tp; ++rank) {
    const TensorParallelShard shard{rank, tp};
    const MoeConfig config = ckpt.moe_config(layer, mode, tokens, shard);
    const std::unique_ptr<MoeLayer> cpu = loaded_layer(ckpt, layer, config, Backend::kCpu, shard);
    const std::unique_ptr<MoeLayer> cuda =
        backend == Backend::kCuda ? loaded_layer(ckpt, layer, config, Backend::kCuda, shard) : nullptr;
    std::vector<double> ref(sum.size());
    reference_forward_f64(*cpu, {tokens, x.data(), routing.ids.data(), routing.weights.data(), nullptr}, ref.data());
    const Timed timed = run_forward(cuda ? *cuda : *cpu, x, routing, tokens, iters);
    for (size_t i = 0; i < sum.size(); ++i) {
      sum[i] += bf16_to_float(timed.out[i]);
      r.reference_sum[i] += ref[i];
    }
    r.median_us.push_back(timed.median_us);
  }
  r.sum.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) r.sum[i] = float_to_bf16(sum[i]);
  return r;
}

}  // namespace

int run_inspect(const Argv& argv) {
  const Args args(argv, inspect_command().line);
  const std::string dir = one_positional(args, 0, "DIR");
  const MoeCheckpoint ckpt(dir);  // every safetensors header is validated here
  const MoeModelConfig& m = ckpt.model();
  const auto& files = ckpt.tensors().files();
  std::printf("checkpoint %s: %zu file%s%s, %zu tensors, %s\n", dir.c_str(), files.size(), files.size() == 1 ? "" : "s",
              ckpt.tensors().sharded() ? " (sharded, model.safetensors.index.json)" : "",
              ckpt.tensors().tensor_names().size(), format_bytes(ckpt.tensors().total_tensor_bytes()).c_str());
  std::printf("model: %s, %d experts, hidden %d, intermediate %d, top_k %d, activation %s, routing %s\n",
              m.model_type.empty() ? "?" : m.model_type.c_str(), m.num_experts, m.hidden, m.intermediate, m.top_k,
              std::string(to_string(m.activation.kind)).c_str(), routing_summary(m).c_str());
  if (m.quant_algo.empty()) {
    std::printf("quantization: none\n");
  } else {
    std::printf("quantization: %s (%s), group_size %d, %zu excluded modules\n", m.quant_algo.c_str(),
                m.quant_format.c_str(), m.group_size, m.exclude_modules.size());
  }
  std::printf("MoE layers: %zu\n", ckpt.moe_layers().size());
  for (const auto& t : ckpt.moe_layers()) print_layer(t);
  const std::string error = validate_all(ckpt);
  if (!error.empty()) {
    std::printf("validation: FAILED: %s\n", error.c_str());
    return 1;
  }
  std::printf("validation: OK (headers, config and every expert tensor checked)\n");
  return 0;
}

int run_quantize(const Argv& argv) {
  const Args args(argv, quantize_command().line);
  const std::string in = one_positional(args, 0, "IN");
  const std::string out = one_positional(args, 1, "OUT");
  QuantizeCheckpointOptions options;
  options.calibration = args.get("calib", "");
  options.calibration_tensor = args.get("calib-tensor", "");
  std::unique_ptr<ProgressBar> bar;
  options.progress = [&](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("quantizing experts", total);
    bar->update(done);
  };
  const QuantizeCheckpointReport r = quantize_checkpoint(in, out, options);
  bar.reset();
  const std::string biases =
      r.biases_copied > 0 ? ", " + std::to_string(r.biases_copied) + " expert biases carried over" : "";
  std::printf("quantized %s -> %s: %d MoE layers, %lld expert projections to NVFP4%s%s, %lld tensors copied, "
              "%s -> %s\n",
              in.c_str(), out.c_str(), r.moe_layers, static_cast<long long>(r.projections_quantized),
              options.calibration.empty() ? "" : " (input_scale calibrated)", biases.c_str(),
              static_cast<long long>(r.tensors_copied), format_bytes(r.bytes_in).c_str(),
              format_bytes(r.bytes_out).c_str());
  if (r.mxfp4_projections > 0)
    std::printf("%lld projections converted from MXFP4: %lld blocks of 16 beyond NVFP4's exact reach (quantized from "
                "their values)%s\n",
                static_cast<long long>(r.mxfp4_projections), static_cast<long long>(r.inexact_blocks),
                r.inexact_blocks == 0 ? ", every weight as it was" : "");
  return 0;
}

int run_layer(const Argv& argv) {
  const Args args(argv, run_command().line);
  const std::string dir = one_positional(args, 0, "DIR");
  const int layer = int(args.get_int("layer", -1));
  const long long tokens = args.get_int("tokens", 16);
  const long long iters = args.get_int("iters", 20);
  const long long tp = args.get_int("tp", 1);
  require(tokens > 0 && tokens <= (1 << 20), args.command(), "--tokens", "in [1, 1048576]", tokens);
  require(iters >= 0 && iters <= 100000, args.command(), "--iters", "in [0, 100000]", iters);
  require(tp >= 1 && tp <= (1 << 20), args.command(), "--tp", "in [1, 1048576]", tp);
  const QuantMode mode = parse_quant_mode(args.get("mode", "w4a16"), args.command(), "--mode");
  const uint64_t seed = uint64_t(args.get_int("seed", 1));

  const MoeCheckpoint ckpt(dir);
  const MoeConfig config = ckpt.moe_config(layer, mode, int(tokens));
  shard_intermediate(config.intermediate, {0, int(tp)}, args.command(), "--tp");  // before any load
  const Backend backend = !args.has("cpu") && cuda_backend_available() ? Backend::kCuda : Backend::kCpu;
  const std::unique_ptr<MoeLayer> cpu = loaded_layer(ckpt, layer, config, Backend::kCpu);
  const std::unique_ptr<MoeLayer> cuda =
      backend == Backend::kCuda && tp == 1 ? loaded_layer(ckpt, layer, config, Backend::kCuda) : nullptr;

  std::vector<bf16> x = random_tokens(tokens * config.hidden, seed);
  const TokenRouting routing = checkpoint_routing(ckpt, layer, x, int(tokens), seed);

  std::vector<double> ref(size_t(tokens) * config.hidden);
  ForwardArgs host{int(tokens), x.data(), routing.ids.data(), routing.weights.data(), nullptr};
  reference_forward_f64(*cpu, host, ref.data());
  constexpr double kBound = 1e-2;  // spec section 6

  std::printf("layer %d of %s: %d experts, H %d, I %d, top_k %d, %s, %s\n", layer, dir.c_str(), config.num_experts,
              config.hidden, config.intermediate, config.top_k, std::string(to_string(config.activation.kind)).c_str(),
              std::string(to_string(mode)).c_str());
  std::printf("backend %s, %lld tokens (seed %llu), routing %s\n", backend == Backend::kCuda ? "cuda" : "cpu", tokens,
              static_cast<unsigned long long>(seed), routing.how.c_str());
  const char* timed_as = backend == Backend::kCuda ? "CUDA-graph replays" : "runs";
  if (tp == 1) {
    const Timed timed = run_forward(cuda ? *cuda : *cpu, x, routing, int(tokens), int(iters));
    const double err = rel_error(timed.out, ref);
    std::printf("rel error vs float64 reference: %.3e (bound %.0e): %s\n", err, kBound, err < kBound ? "ok" : "FAILED");
    if (iters > 0) std::printf("median time: %.1f us over %lld %s\n", timed.median_us, iters, timed_as);
    return err < kBound ? 0 : 1;
  }

  const RanksRun ranks = run_ranks(ckpt, layer, mode, int(tokens), int(tp), backend, x, routing, int(iters));
  const double err = rel_error(ranks.sum, ranks.reference_sum), unsharded = rel_error(ranks.sum, ref);
  std::printf("tensor parallel: %lld ranks of I %d, outputs summed in FP32 and rounded once to BF16\n", tp,
              config.intermediate / int(tp));
  std::printf("rel error of the sum vs the ranks' float64 references: %.3e (bound %.0e): %s\n", err, kBound,
              err < kBound ? "ok" : "FAILED");
  std::printf("rel error of the sum vs the unsharded layer's float64 reference: %.3e%s\n", unsharded,
              mode == QuantMode::kW4A4 && !ckpt.moe_layer(layer).has_input_scale
                  ? " (dynamic W4A4: each rank takes its own shard's amax)"
                  : "");
  if (iters > 0) {
    std::printf("median time per rank:");
    for (double us : ranks.median_us) std::printf(" %.1f", us);
    std::printf(" us over %lld %s\n", iters, timed_as);
  }
  return err < kBound ? 0 : 1;
}

const Command& inspect_command() {
  static const Command command{
      {"fp4moe inspect",
       "DIR",
       {},
       "  Lists the MoE layers of the safetensors checkpoint in DIR (one file, or sharded with\n"
       "  model.safetensors.index.json): the model's shape, routing and quantization, each layer's expert\n"
       "  tensors, and validates every header, the config and every expert tensor. Exits 1 when the\n"
       "  validation fails.\n"},
      "list and validate the MoE layers of a checkpoint",
      run_inspect};
  return command;
}

const Command& quantize_command() {
  static const Command command{
      {"fp4moe quantize",
       "IN OUT",
       {{"calib", "FILE", "safetensors file of sample activations [T, hidden]: each projection's input_scale"},
        {"calib-tensor", "NAME", "the tensor of FILE to use, where it holds more than one"}},
       "  Quantizes the MoE experts of the BF16 safetensors checkpoint IN to NVFP4 and writes a ModelOpt\n"
       "  NVFP4 checkpoint to OUT (every other tensor copied, expert biases as they are). Without --calib\n"
       "  the projections get no input_scale, and W4A4 then uses dynamic activation scales.\n"},
      "quantize a BF16 safetensors MoE checkpoint to ModelOpt NVFP4",
      run_quantize};
  return command;
}

const Command& run_command() {
  static const Command command{
      {"fp4moe run",
       "DIR",
       {{"layer", "L", "the MoE layer to run, its index in the model", true},
        {"tokens", "T", "tokens in the batch, 1..1048576 (default 16)"},
        {"mode", "MODE", "w4a16 (default), or w4a4: activations quantized to NVFP4 too"},
        {"iters", "N", "timed forwards, 0..100000 (default 20; 0: no timing)"},
        {"seed", "S", "seed of the tokens and of the routing where the checkpoint has no router (default 1)"},
        {"tp", "N", "tensor parallelism: run the layer as N ranks, each 1/N of the intermediate (default 1)"},
        {"cpu", "", "run on the CPU backend even where a GPU is available"}},
       "  Runs MoE layer L of the checkpoint in DIR on random tokens, routed by the checkpoint's router\n"
       "  where it has one, and prints its error against the float64 reference on the same weights and\n"
       "  the median forward time. Exits 1 when the error breaks the spec's bound (1e-2). With --tp N the\n"
       "  layer is loaded and run as the N ranks' shards in turn, and their outputs' sum is checked as an\n"
       "  all-reduce would leave it.\n"},
      "run one MoE layer of a checkpoint against the float64 reference",
      run_layer};
  return command;
}

}  // namespace fp4moe::cli
