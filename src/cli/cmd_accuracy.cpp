// `fp4moe accuracy DIR --layer L`: what NVFP4 costs one MoE layer of a checkpoint, every mode side by side.
// For an unquantized (BF16, F16 or F32) checkpoint, the layer's experts are quantized as `fp4moe quantize`
// quantizes them and run in W4A16, in W4A4 with dynamic activation scales and, given --calib, in W4A4 with
// the input scales `fp4moe quantize --calib` writes. Each output is compared with two float64 results:
//   - the baseline: the unquantized layer (spec section 6: the format's cost, reported and not bounded);
//   - the float64 reference of the same mode on the same quantized weights (the kernels' cost, bound
//     1e-2): the command exits 1 when a mode breaks it.
// One expert's float weights are in memory at a time, so a large model's layer fits. For an NVFP4
// checkpoint (ModelOpt's or compressed-tensors') there are no unquantized weights: the baseline is W4A16's
// float64 reference, so the table gives what quantizing the activations costs, with the checkpoint's own
// input scales for calibrated W4A4.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/calibration.h"
#include "checkpoint/progress_bar.h"
#include "checkpoint/unquantized_experts.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/layer_run.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/error.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe::cli {
namespace {

constexpr double kReferenceBound = 1e-2;  // spec section 6
constexpr long long kMaxTokens = 65536;   // the float64 references run on the host

struct AccuracyOptions {
  std::string dir;
  std::string layers;  // "L", "L1,L2,..." or "all"
  std::string json;
  long long tokens = 64;
  uint64_t seed = 1;
  std::string inputs, inputs_tensor;
  std::string calib, calib_tensor;
  bool force_cpu = false;
};

AccuracyOptions parse_options(const Args& args) {
  AccuracyOptions o;
  require(args.positional().size() == 1, args.command(), "DIR", "one checkpoint directory",
          std::to_string(args.positional().size()) + " operands");
  o.dir = args.positional()[0];
  o.layers = args.get("layer", "");
  o.json = args.get("json", "");
  require(o.json.empty() || bool(std::ofstream(o.json)), args.command(), "--json", "a file that can be written",
          o.json);
  o.seed = uint64_t(args.get_int("seed", 1));
  o.inputs = args.get("inputs", "");
  o.inputs_tensor = args.get("inputs-tensor", "");
  o.calib = args.get("calib", "");
  o.calib_tensor = args.get("calib-tensor", "");
  o.force_cpu = args.has("cpu");
  require(o.inputs_tensor.empty() || !o.inputs.empty(), args.command(), "--inputs-tensor", "--inputs FILE with it",
          "no --inputs");
  require(o.calib_tensor.empty() || !o.calib.empty(), args.command(), "--calib-tensor", "--calib FILE with it",
          "no --calib");
  o.tokens = args.get_int("tokens", 64);
  require(o.tokens >= 1 && o.tokens <= kMaxTokens, args.command(), "--tokens", "1.." + std::to_string(kMaxTokens),
          o.tokens);
  return o;
}

// The batch: the first rows of --inputs (rounded to BF16, as the layer takes them), or random tokens.
struct Batch {
  std::vector<bf16> x;
  int tokens = 0;
  std::string how;
};

Batch make_batch(const Args& args, const AccuracyOptions& o, int hidden) {
  Batch b;
  if (o.inputs.empty()) {
    b.tokens = int(o.tokens);
    b.x = random_tokens(int64_t(b.tokens) * hidden, o.seed);
    b.how = "random N(0, 1), seed " + std::to_string(o.seed);
    return b;
  }
  const CalibrationSample rows = read_calibration(o.inputs, o.inputs_tensor, hidden);
  const long long tokens = args.has("tokens") ? o.tokens : std::min<long long>(rows.tokens, kMaxTokens);
  require(tokens <= rows.tokens, args.command(), "--tokens",
          "at most the " + std::to_string(rows.tokens) + " rows of " + o.inputs, tokens);
  b.tokens = int(tokens);
  b.x.resize(size_t(tokens) * hidden);
  for (size_t i = 0; i < b.x.size(); ++i) b.x[i] = float_to_bf16(rows.x[i]);
  b.how = "the first " + std::to_string(tokens) + " rows of " + o.inputs;
  return b;
}

// The layer in W4A16 and in W4A4, on the CPU for the float64 references and on the GPU when it runs
// there: the one W4A4 layer serves the dynamic and the calibrated scales (set_input_scales).
struct Layers {
  std::unique_ptr<MoeLayer> cpu_w4a16, cpu_w4a4, gpu_w4a16, gpu_w4a4;

  Layers(MoeConfig config, bool gpu) {
    config.mode = QuantMode::kW4A16;
    cpu_w4a16 = make_moe_layer(config, Backend::kCpu);
    if (gpu) gpu_w4a16 = make_moe_layer(config, Backend::kCuda);
    config.mode = QuantMode::kW4A4;
    cpu_w4a4 = make_moe_layer(config, Backend::kCpu);
    if (gpu) gpu_w4a4 = make_moe_layer(config, Backend::kCuda);
  }
  // Calls f(layer) for each of the layers there are.
  template <class F>
  void for_each(F&& f) {
    for (MoeLayer* layer : {cpu_w4a16.get(), cpu_w4a4.get(), gpu_w4a16.get(), gpu_w4a4.get()})
      if (layer) f(*layer);
  }
  void load_expert(int e, const ExpertWeightsView& w) {
    for_each([&](MoeLayer& layer) { layer.load_expert(e, w); });
  }
  // Both W4A4 layers' input scales (0: dynamic).
  void set_w4a4_scales(float gemm1, float gemm2) {
    for (MoeLayer* layer : {cpu_w4a4.get(), gpu_w4a4.get()})
      if (layer) layer->set_input_scales(gemm1, gemm2);
  }
};

ForwardArgs host_args(const Batch& batch, const TokenRouting& routing) {
  return {batch.tokens, batch.x.data(), routing.ids.data(), routing.weights.data(), nullptr};
}

const float* data_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// Streams the experts once: each is read as float, quantized into every layer, and its share of the
// unquantized layer added to `unquantized`; with a calibration sample, the largest intermediate
// |act(gate x + b, up x + b)| over the sample and every expert (as `fp4moe quantize --calib` takes it).
// MXFP4 experts are converted instead; `inexact_blocks` counts their blocks beyond NVFP4's exact reach.
float quantize_experts(const MoeCheckpoint& ckpt, int layer, const MoeConfig& config, const ForwardArgs& batch,
                       const CalibrationSample* calib, Layers& layers, std::vector<double>& unquantized,
                       int64_t& inexact_blocks) {
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  ProgressBar bar("quantizing experts", t.num_experts);
  float h_amax = 0.0f;
  for (int e = 0; e < t.num_experts; ++e) {
    std::vector<float> w[3], bias[3];
    QuantizedWeight q[3];
    for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
      const int i = int(p);
      w[i] = read_unquantized_projection(ckpt.tensors(), t, e, p);
      bias[i] = read_expert_bias(ckpt, t, e, p);
      QuantizedProjection projection = quantize_projection(ckpt.tensors(), t, e, p);  // as `fp4moe quantize`
      inexact_blocks += projection.inexact_blocks;
      q[i] = std::move(projection.weight);
    }
    layers.load_expert(e, {weight_view(q[0], data_or_null(bias[0])), weight_view(q[1], data_or_null(bias[1])),
                           weight_view(q[2], data_or_null(bias[2]))});
    add_unquantized_expert_f64(config, e,
                               {w[0].data(), w[1].data(), w[2].data(), data_or_null(bias[0]), data_or_null(bias[1]),
                                data_or_null(bias[2])},
                               batch, unquantized.data());
    if (calib)
      h_amax = nan_max(h_amax, intermediate_amax(*calib, w[0].data(), w[1].data(), config.intermediate,
                                                 config.activation, data_or_null(bias[0]), data_or_null(bias[1])));
    bar.update(e + 1);
  }
  return h_amax;
}

// One mode's output against the unquantized layer (over the batch, and the worst token) and against
// the float64 reference of that mode.
struct ModeErrors {
  double unquantized = 0.0;
  double worst_token = 0.0;
  int worst_token_index = -1;
  double reference = 0.0;
};

ModeErrors errors_of(const std::vector<bf16>& y, const std::vector<double>& unquantized,
                     const std::vector<double>& reference, int tokens, int hidden) {
  ModeErrors m;
  m.unquantized = rel_error(y, unquantized);
  m.reference = rel_error(y, reference);
  for (int t = 0; t < tokens; ++t) {
    const std::span<const double> ref = std::span(unquantized).subspan(size_t(t) * hidden, size_t(hidden));
    bool routed = false;  // a token whose experts are all dropped has a zero output to compare
    for (double r : ref) routed = routed || r != 0.0;
    if (!routed) continue;
    const double e = rel_error(std::span(y).subspan(size_t(t) * hidden, size_t(hidden)), ref);
    if (m.worst_token_index < 0 || !(e <= m.worst_token)) {
      m.worst_token = e;
      m.worst_token_index = t;
    }
  }
  return m;
}

// One printed row, kept for --json.
struct AccuracyRow {
  int layer = 0;
  std::string baseline, mode;
  ModeErrors errors;
  bool ok = true;
};

// What one layer is measured against: `values` ([T, H]), or, where empty, W4A16's float64 reference, which
// the table's first row computes. `name` heads the column, `key` names it in --json.
struct Baseline {
  std::vector<double> values;
  const char* name;
  const char* key;
};

// Calibrated W4A4's input scales and where they came from (a line before the table), or why that row
// does not run (scales.gemm1 == 0).
struct Calibration {
  InputScales scales;
  std::string source;
  const char* missing = "";
};

// One layer's table: its weights and batch, then W4A16, dynamic W4A4 and calibrated W4A4, each against
// the baseline (over the batch and the worst token) and against its own float64 reference, appended to
// `rows`. Returns whether every mode kept the bound.
class LayerTable {
 public:
  LayerTable(const AccuracyOptions& o, int layer, const Batch& batch, const TokenRouting& routing, Baseline baseline,
             std::vector<AccuracyRow>& rows)
      : o_(o), layer_(layer), batch_(batch), routing_(routing), baseline_(std::move(baseline)), rows_(rows) {}

  bool print(const MoeConfig& c, const std::string& weights, Layers& layers, const Calibration& calibration) {
    hidden_ = c.hidden;
    std::printf("layer %d of %s: %d experts, H %d, I %d, top_k %d, %s, %s weights\n", layer_, o_.dir.c_str(),
                c.num_experts, c.hidden, c.intermediate, c.top_k, std::string(to_string(c.activation.kind)).c_str(),
                weights.c_str());
    std::printf("backend %s, %d tokens (%s), routing %s\n", layers.gpu_w4a16 ? "cuda" : "cpu", batch_.tokens,
                batch_.how.c_str(), routing_.how.c_str());
    if (!calibration.source.empty())
      std::printf("w4a4 calibrated: %s: GEMM 1 %.4e, GEMM 2 %.4e\n", calibration.source.c_str(),
                  calibration.scales.gemm1, calibration.scales.gemm2);
    std::printf("\n%-17s  %-34s  %s\n", "", baseline_.name, "against the float64 reference");
    std::printf("%-17s  %-10s  %-22s  %s\n", "mode", "rel error", "worst token", "rel error (bound 1e-02)");
    row("w4a16", *layers.cpu_w4a16, layers.gpu_w4a16.get());
    layers.set_w4a4_scales(0.0f, 0.0f);
    row("w4a4 dynamic", *layers.cpu_w4a4, layers.gpu_w4a4.get());
    if (calibration.scales.gemm1 > 0.0f) {
      layers.set_w4a4_scales(calibration.scales.gemm1, calibration.scales.gemm2);
      row("w4a4 calibrated", *layers.cpu_w4a4, layers.gpu_w4a4.get());
    } else {
      std::printf("%-17s  not run: %s\n", "w4a4 calibrated", calibration.missing);
    }
    if (!ok_) std::printf("FAILED: a mode's error against its float64 reference exceeds %.0e\n", kReferenceBound);
    return ok_;
  }

 private:
  // One mode: its float64 reference on `cpu`, its output on `gpu` (or `cpu`), both errors.
  void row(const char* name, MoeLayer& cpu, MoeLayer* gpu) {
    std::vector<double> reference(batch_.x.size());
    reference_forward_f64(cpu, host_args(batch_, routing_), reference.data());
    if (baseline_.values.empty()) baseline_.values = reference;
    const Timed run = run_forward(gpu ? *gpu : cpu, batch_.x, routing_, batch_.tokens, 0);
    const ModeErrors m = errors_of(run.out, baseline_.values, reference, batch_.tokens, hidden_);
    const bool mode_ok = m.reference <= kReferenceBound;
    ok_ = ok_ && mode_ok;
    char worst[64] = "-";
    if (m.worst_token_index >= 0)
      std::snprintf(worst, sizeof(worst), "%.3e (token %d)", m.worst_token, m.worst_token_index);
    std::printf("%-17s  %-10.3e  %-22s  %.3e %s\n", name, m.unquantized, worst, m.reference, mode_ok ? "ok" : "FAILED");
    rows_.push_back({layer_, baseline_.key, name, m, mode_ok});
  }

  const AccuracyOptions& o_;
  int layer_;
  const Batch& batch_;
  const TokenRouting& routing_;
  Baseline baseline_;
  std::vector<AccuracyRow>& rows_;
  int hidden_ = 0;
  bool ok_ = true;
};

// An NVFP4 checkpoint: the layer loaded as it is, W4A4 against W4A16's float64 reference, calibrated
// W4A4 with the checkpoint's input_scale.
bool nvfp4_accuracy(const AccuracyOptions& o, const MoeCheckpoint& ckpt, int layer, const Batch& tokens,
                    std::vector<AccuracyRow>& rows) {
  MoeConfig config = ckpt.moe_config(layer);
  config.max_tokens = tokens.tokens;
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  Batch batch = tokens;  // the layer's input: Llama-4's router scales it (checkpoint_routing)
  const TokenRouting routing = checkpoint_routing(ckpt, layer, batch.x, batch.tokens, o.seed);
  Layers layers(config, !o.force_cpu && cuda_backend_available());
  ProgressBar bar("loading experts", 4);
  int loaded = 0;
  layers.for_each([&](MoeLayer& l) {
    load_moe_layer(ckpt, layer, l);
    bar.update(++loaded);
  });
  Calibration calibration{{}, "", "the checkpoint has no input_scale"};
  if (t.has_input_scale) {
    calibration.scales = input_scales(ckpt, layer, 0, t.num_experts);
    calibration.source = "the checkpoint's input_scale";
  }
  LayerTable table(o, layer, batch, routing, {{}, "against W4A16's float64 reference", "w4a16_reference"}, rows);
  return table.print(config, t.compressed_tensors ? "NVFP4 (compressed-tensors)" : "NVFP4 (ModelOpt)", layers,
                     calibration);
}

// An unquantized checkpoint: its experts quantized here, every mode against the unquantized layer,
// calibrated W4A4 with the scales `fp4moe quantize --calib` writes from `calib` (if any).
bool unquantized_accuracy(const AccuracyOptions& o, const MoeCheckpoint& ckpt, int layer, const Batch& tokens,
                          const CalibrationSample* calib, std::vector<AccuracyRow>& rows) {
  MoeConfig config = ckpt.unquantized_moe_config(layer);
  config.max_tokens = tokens.tokens;
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  check_unquantized_layer(ckpt, t);
  Batch batch = tokens;  // the layer's input: Llama-4's router scales it (checkpoint_routing)
  const TokenRouting routing = checkpoint_routing(ckpt, layer, batch.x, batch.tokens, o.seed);
  Layers layers(config, !o.force_cpu && cuda_backend_available());
  std::vector<double> unquantized(batch.x.size(), 0.0);
  int64_t inexact_blocks = 0;
  const float h_amax =
      quantize_experts(ckpt, layer, config, host_args(batch, routing), calib, layers, unquantized, inexact_blocks);
  Calibration calibration{{}, "", "--calib FILE gives the activations its input scales come from"};
  if (calib) {
    calibration.scales = {modelopt_scale_from_amax(calib->x_amax), modelopt_scale_from_amax(h_amax)};
    calibration.source = "input scales from " + std::to_string(calib->tokens) + " tokens of " + o.calib +
                         " through every expert";
  }
  // gpt-oss's MXFP4 experts are the baseline as they are: what their conversion to NVFP4 changes.
  Baseline baseline = t.mxfp4 ? Baseline{std::move(unquantized), "against the MXFP4 layer", "mxfp4"}
                              : Baseline{std::move(unquantized), "against the unquantized layer", "unquantized"};
  LayerTable table(o, layer, batch, routing, std::move(baseline), rows);
  const std::string weights = t.mxfp4 ? "MXFP4 (converted, " + std::to_string(inexact_blocks) +
                                            " blocks of 16 beyond NVFP4's exact reach)"
                                      : std::string(to_string(t.weight_dtype));
  return table.print(config, weights, layers, calibration);
}

// --layer: one index, a comma list, or every MoE layer; each must be one of the checkpoint's (moe_layer
// throws listing them).
std::vector<int> chosen_layers(const Args& args, const AccuracyOptions& o, const MoeCheckpoint& ckpt) {
  std::vector<int> layers;
  if (o.layers == "all") {
    for (const MoeLayerTensors& t : ckpt.moe_layers()) layers.push_back(t.layer);
    require(!layers.empty(), args.command(), "--layer all", "a checkpoint with MoE layers", "none");
    return layers;
  }
  std::stringstream list(o.layers);
  for (std::string item; std::getline(list, item, ',');) {
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    require(!item.empty() && *end == '\0' && value >= 0 && value <= (1 << 30), args.command(), "--layer",
            "a layer index, a comma list of them, or all", o.layers);
    ckpt.moe_layer(int(value));
    layers.push_back(int(value));
  }
  return layers;
}

void write_json(const std::string& path, const AccuracyOptions& o, const std::vector<AccuracyRow>& rows) {
  nlohmann::json j = {{"checkpoint", o.dir}, {"bound", kReferenceBound}, {"rows", nlohmann::json::array()}};
  for (const AccuracyRow& r : rows) {
    j["rows"].push_back({{"layer", r.layer},
                         {"mode", r.mode},
                         {"baseline", r.baseline},
                         {"rel_error", r.errors.unquantized},
                         {"worst_token_rel_error", r.errors.worst_token},
                         {"worst_token", r.errors.worst_token_index},
                         {"reference_rel_error", r.errors.reference},
                         {"ok", r.ok}});
  }
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  require(bool(f), "fp4moe accuracy", "--json", "a file that can be written", path);
}

}  // namespace

int run_accuracy(const Argv& argv) {
  const Args args(argv, accuracy_command().line);
  const AccuracyOptions o = parse_options(args);
  const MoeCheckpoint ckpt(o.dir);
  const std::vector<int> layers = chosen_layers(args, o, ckpt);
  bool nvfp4 = false;
  for (int layer : layers) nvfp4 = nvfp4 || ckpt.moe_layer(layer).nvfp4;
  require(o.calib.empty() || !nvfp4, args.command(), "--calib",
          "an unquantized checkpoint (an NVFP4 one's calibrated W4A4 uses its own input_scale)", o.calib);
  // One batch and one calibration sample for every layer: a model's MoE layers share its hidden size.
  const int hidden = ckpt.model().hidden;
  const Batch batch = make_batch(args, o, hidden);
  std::unique_ptr<CalibrationSample> calib;
  if (!o.calib.empty()) calib = std::make_unique<CalibrationSample>(read_calibration(o.calib, o.calib_tensor, hidden));
  std::vector<AccuracyRow> rows;
  bool ok = true;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) std::printf("\n");
    const bool layer_ok = ckpt.moe_layer(layers[i]).nvfp4
                              ? nvfp4_accuracy(o, ckpt, layers[i], batch, rows)
                              : unquantized_accuracy(o, ckpt, layers[i], batch, calib.get(), rows);
    ok = ok && layer_ok;
  }
  if (!o.json.empty()) write_json(o.json, o, rows);
  return ok ? 0 : 1;
}

const Command& accuracy_command() {
  static const Command command{
      {"fp4moe accuracy",
       "DIR",
       {{"layer", "L", "the MoE layer to measure, its index in the model; a comma list, or all, for several", true},
        {"tokens", "T", "tokens in the batch, 1..65536 (default 64, or every row of --inputs)"},
        {"inputs", "FILE",
         "safetensors file of the layer's input activations [T, hidden] (default: random tokens; every layer "
         "measured takes the same)"},
        {"inputs-tensor", "NAME", "the tensor of --inputs to use, where it holds more than one"},
        {"calib", "FILE", "safetensors file of sample activations [T, hidden]: calibrated W4A4's input scales "
                          "(an unquantized checkpoint)"},
        {"calib-tensor", "NAME", "the tensor of --calib to use, where it holds more than one"},
        {"seed", "S", "seed of the random tokens and of the routing where the checkpoint has no router (default 1)"},
        {"cpu", "", "run on the CPU backend even where a GPU is available"},
        {"json", "FILE", "also write every row (layer, mode, errors) to FILE"}},
       "  Runs MoE layer L of the checkpoint in DIR in W4A16, in W4A4 with dynamic activation scales and in\n"
       "  W4A4 with calibrated ones, and prints each mode's error against a baseline (over the batch and for\n"
       "  the worst token) and against its own float64 reference. For an unquantized (BF16, F16 or F32)\n"
       "  checkpoint the experts are quantized as `fp4moe quantize` does, the baseline is the unquantized\n"
       "  layer (what NVFP4 costs), and calibrated W4A4 takes the input scales `fp4moe quantize --calib`\n"
       "  writes. For an NVFP4 checkpoint the baseline is W4A16's float64 reference (what quantizing the\n"
       "  activations costs) and calibrated W4A4 takes the checkpoint's input_scale. Tokens are routed by\n"
       "  the checkpoint's router where it has one. Exits 1 when a mode's reference error breaks the\n"
       "  spec's bound (1e-2).\n"},
      "measure what NVFP4 costs a checkpoint's layer, W4A16 and W4A4 side by side",
      run_accuracy};
  return command;
}

}  // namespace fp4moe::cli
