// `fp4moe bench`: the benchmark of ../shared/spec/benchmarking.md from the command line, for users
// without PyTorch: the benchmark shapes (or one given by its sizes) with random NVFP4 weights, each
// row a CUDA-graph replay over weight copies rotated past L2, timed with CUDA events after warm-up
// (median), against the floor of the touched weight bytes at the measured copy bandwidth or both
// GEMMs' operations at the measured BF16 rate, with the kernels' own times from CUPTI. The PyTorch
// peer is bench/bench_moe.py's (the project's official tables); the rows here are measured the same way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/bench_plan.h"
#include "cli/bench_weights.h"
#include "cli/commands.h"
#include "cli/kernel_times.h"
#include "fp4moe/fp4moe.h"

#if FP4MOE_WITH_CUDA
#include <cuda_runtime.h>

#include "cli/gpu_timing.h"
#include "cuda/common/launch.h"
#if FP4MOE_WITH_CUPTI
#include "cli/kernel_profile.h"
#endif
#endif

namespace fp4moe::cli {
namespace {

constexpr int kMaxBenchTokens = 65536;

struct BenchOptions {
  std::vector<BenchShape> shapes;
  std::vector<BenchRow> rows;
  QuantMode mode = QuantMode::kW4A16;
  bool calibrated = false;  // W4A4's input scales fixed (as a checkpoint's), not each forward's amax
  bool bias = false;        // every projection of every expert with a bias (gpt-oss)
  enum class Kernels { kOff, kOn, kList } kernels = Kernels::kOn;  // per-kernel times: none, the GEMMs', all
  uint64_t seed = 1234;
  int min_runs = 20;
  double target_ms = 150;
  double mem_gib = 40;
  std::string json;
};

BenchOptions parse_options(const Argv& argv) {
  const Args args(argv, bench_command().line);
  require(args.positional().empty(), args.command(), "arguments", "only options (see " + args.command() + " --help)",
          args.positional().empty() ? "" : args.positional()[0]);
  BenchOptions o;
  o.shapes = shapes_from_args(args);
  const std::vector<int> tokens =
      parse_token_list(args.get("tokens", "1,8,64,512"), args.command(), "--tokens", kMaxBenchTokens);
  const std::string skewed = args.get("skewed", "on");
  require(skewed == "on" || skewed == "off", args.command(), "--skewed", "on or off", "'" + skewed + "'");
  o.rows = bench_rows(tokens, skewed == "on");
  const ActivationQuant quant = quant_from_args(args);
  o.mode = quant.mode;
  o.calibrated = quant.calibrated;
  const std::string bias = args.get("bias", "off");
  require(bias == "on" || bias == "off", args.command(), "--bias", "on or off", "'" + bias + "'");
  o.bias = bias == "on";
  const std::string kernels = args.get("kernels", "on");
  require(kernels == "on" || kernels == "off" || kernels == "list", args.command(), "--kernels", "on, off or list",
          "'" + kernels + "'");
  o.kernels = kernels == "off" ? BenchOptions::Kernels::kOff
              : kernels == "on" ? BenchOptions::Kernels::kOn
                                : BenchOptions::Kernels::kList;
  o.seed = uint64_t(args.get_int("seed", 1234));
  const long long runs = args.get_int("min-runs", 20), target = args.get_int("target-ms", 150);
  const long long mem = args.get_int("mem-gib", 40);
  require(runs >= 1 && runs <= 100000, args.command(), "--min-runs", "1..100000", runs);
  require(target >= 0 && target <= 600000, args.command(), "--target-ms", "0..600000", target);
  require(mem >= 1 && mem <= 4096, args.command(), "--mem-gib", "1..4096", mem);
  o.min_runs = int(runs);
  o.target_ms = double(target);
  o.mem_gib = double(mem);
  o.json = args.get("json", "");
  // Checked before the measurements rather than after them (the file is written again at the end).
  require(o.json.empty() || bool(std::ofstream(o.json)), args.command(), "--json", "a file that can be written",
          o.json);
  return o;
}

#if FP4MOE_WITH_CUDA

size_t free_device_bytes() {
  size_t free = 0, total = 0;
  check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

struct Device {
  std::string name;
  int64_t l2_bytes = 0;
  double copy_bytes_s = 0, bf16_flops_s = 0;
};

struct RowResult {
  BenchShape shape;
  BenchRow row;
  int touched = 0, copies = 0, runs = 0;
  double us = 0;
  Floor floor;
  size_t non_finite = 0;
  InputScales scales;  // W4A4's calibrated ones; 0 where dynamic
  KernelTimes kernels;
  const char* profile = "";  // "graph": the replays profiled; "eager": the profiler missed kernels in graphs
};

// Whether rows are profiled: off by the options, in a build without CUPTI, or once CUPTI has refused
// (its reason kept for the output).
struct Profiling {
  bool on = false;
  std::string unavailable;
};

// The layer copies of one shape, as many as put kL2RotationFactor L2 sizes of touched weights
// between two reads of the same bytes, within the memory budget, and the workspace they share (their
// forwards run one after another on one stream).
struct LayerCopies {
  std::vector<std::unique_ptr<MoeLayer>> layers;
  Buffer workspace;
  int wanted = 0;  // the copies that would rotate past L2
};

// `scales`: W4A4's calibrated input scales, or null for dynamic ones (and W4A16).
LayerCopies build_copies(const BenchShape& shape, const MoeConfig& config, const ExpertPool& pool,
                         const InputScales* scales, int min_touched, const BenchOptions& o, const Device& device,
                         size_t reserve_bytes) {
  auto new_copy = [&](int copy) {
    auto layer = make_moe_layer(config, Backend::kCuda);
    for (int e = 0; e < shape.experts; ++e) layer->load_expert(e, pool.view(e, copy));
    if (scales) layer->set_input_scales(scales->gemm1, scales->gemm2);
    check_cuda(cudaDeviceSynchronize(), "loading the experts");
    return layer;
  };
  LayerCopies c;
  const size_t free_before = free_device_bytes();
  c.layers.push_back(new_copy(0));
  // What one copy really costs (its private weight layout), not only its NVFP4 bytes.
  const double per_copy = std::max(double(free_before - std::min(free_before, free_device_bytes())),
                                   shape.experts * shape.expert_bytes(o.bias));
  c.workspace = Buffer(Backend::kCuda, c.layers[0]->workspace_bytes(config.max_tokens));
  c.wanted = copies_to_defeat_l2(min_touched * shape.expert_bytes(o.bias), device.l2_bytes);
  const double free_now = double(free_device_bytes()) - double(reserve_bytes);
  const double budget = std::min(o.mem_gib * double(1ull << 30), per_copy + std::max(free_now, 0.0));
  const int count = copies_within_budget(c.wanted, per_copy, budget);
  for (int i = 1; i < count; ++i) c.layers.push_back(new_copy(i));
  return c;
}

// A row's tokens x [tokens, hidden]: standard normal, seeded by the batch size.
std::vector<bf16> row_tokens(const BenchShape& shape, int tokens, uint64_t seed) {
  std::mt19937_64 rng(seed + uint64_t(tokens));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<bf16> x(size_t(tokens) * shape.hidden);
  for (bf16& v : x) v = float_to_bf16(normal(rng));
  return x;
}

RowResult measure_row(const BenchShape& shape, const BenchRow& row, const BenchRouting& routing,
                      const LayerCopies& copies, const BenchOptions& o, const Device& device,
                      [[maybe_unused]] Profiling& profiling) {
  const std::vector<bf16> x = row_tokens(shape, row.tokens, o.seed);
  const Buffer x_buf = Buffer::copy_of(Backend::kCuda, x), ids = Buffer::copy_of(Backend::kCuda, routing.ids),
               weights = Buffer::copy_of(Backend::kCuda, routing.weights);
  Buffer out(Backend::kCuda, x.size() * sizeof(bf16));
  out.fill(0xFF);  // NaN-poisoned: an element no forward writes shows below
  ForwardArgs args;
  args.num_tokens = row.tokens;
  args.x = static_cast<const bf16*>(x_buf.data());
  args.topk_ids = static_cast<const int32_t*>(ids.data());
  args.topk_weights = static_cast<const float*>(weights.data());
  args.out = static_cast<bf16*>(out.data());

  RowResult r{shape, row, routing.touched, int(copies.layers.size())};
  TimingPolicy policy;
  policy.min_runs = o.min_runs;
  policy.max_runs = std::max(policy.max_runs, o.min_runs);
  policy.target_s = o.target_ms * 1e-3;
  const StreamWork forwards = [&](cudaStream_t s) {
    for (const auto& layer : copies.layers) layer->forward(args, copies.workspace.data(), copies.workspace.size(), s);
  };
  AfterTiming profile;
#if FP4MOE_WITH_CUPTI
  if (profiling.on)
    profile = [&](const StreamWork& replay, cudaStream_t s) {
      try {
        r.kernels = profile_kernels(replay, r.copies, s);
        r.profile = "graph";
        if (r.kernels.kernels.empty()) {
          r.kernels = profile_kernels(forwards, r.copies, s);
          r.profile = "eager";
        }
      } catch (const Error& e) {
        profiling = {false, e.what()};
        std::printf("(kernel times off from here: %s)\n", e.what());
      }
    };
#endif
  const Timing t = time_graph(forwards, r.copies, policy, profile);
  r.us = t.us_per_forward;
  r.runs = t.runs;
  // Every replay writes every element of `out`: one left NaN (the poison) or made NaN shows here.
  const std::vector<bf16> y = out.to_vector<bf16>(x.size());
  r.non_finite = size_t(std::count_if(y.begin(), y.end(), [](bf16 v) { return !std::isfinite(bf16_to_float(v)); }));
  r.floor = moe_floor(shape, row.tokens, routing.touched, o.bias, device.copy_bytes_s, device.bf16_flops_s);
  return r;
}

// "w4a16", "w4a4" (dynamic scales) or "w4a4cal" (calibrated), as the results' file names say.
std::string mode_label(const BenchOptions& o) {
  return std::string(to_string(o.mode)) + (o.calibrated ? "cal" : "") + (o.bias ? "+bias" : "");
}

void print_row(const RowResult& r, const std::string& mode, bool list_kernels) {
  const double s = r.us * 1e-6;
  const std::string verdict = r.non_finite ? "  FAIL: " + std::to_string(r.non_finite) + " outputs not finite" : "";
  char gemms[32] = "-";
  if (r.kernels.gemm_us >= 0) std::snprintf(gemms, sizeof(gemms), "%.1f", r.kernels.gemm_us);
  std::printf("%-18s %-10s %6d %-8s %7d %6d %10.1f %10s %10.1f %6.2f %6.2f %8.1f  %s%s\n", r.shape.name.c_str(),
              mode.c_str(), r.row.tokens, to_string(r.row.routing), r.touched, r.copies, r.us, gemms,
              r.floor.seconds() * 1e6, s / r.floor.seconds(), r.floor.bytes / s / 1e12, r.floor.flops / s / 1e12,
              r.floor.bound(), verdict.c_str());
  if (list_kernels)
    for (const KernelTime& k : r.kernels.kernels)
      std::printf("    %10.1f us %5.2fx  %s\n", k.us_per_forward, k.calls_per_forward, k.name.c_str());
  std::fflush(stdout);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

void write_json(const std::string& path, const Device& device, const std::string& mode,
                const std::vector<RowResult>& rows) {
  std::ofstream f(path);
  require(bool(f), "fp4moe bench", "--json", "a file that can be written", path);
  f << "{\n  \"device\": " << json_string(device.name) << ",\n  \"mode\": \"" << mode
    << "\",\n  \"copy_tb_s\": " << device.copy_bytes_s / 1e12 << ",\n  \"bf16_tflop_s\": " << device.bf16_flops_s / 1e12
    << ",\n  \"l2_bytes\": " << device.l2_bytes << ",\n  \"rows\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const RowResult& r = rows[i];
    const double s = r.us * 1e-6;
    f << (i ? "," : "") << "\n    {\"shape\": " << json_string(r.shape.name) << ", \"experts\": " << r.shape.experts
      << ", \"hidden\": " << r.shape.hidden << ", \"intermediate\": " << r.shape.intermediate
      << ", \"top_k\": " << r.shape.top_k << ", \"tokens\": " << r.row.tokens << ", \"routing\": \""
      << to_string(r.row.routing) << "\", \"touched\": " << r.touched << ", \"copies\": " << r.copies
      << ", \"runs\": " << r.runs << ", \"us\": " << r.us << ", \"floor_us\": " << r.floor.seconds() * 1e6
      << ", \"bound\": \"" << r.floor.bound() << "\", \"ratio\": " << s / r.floor.seconds()
      << ", \"tb_s\": " << r.floor.bytes / s / 1e12 << ", \"tflop_s\": " << r.floor.flops / s / 1e12
      << ", \"non_finite_outputs\": " << r.non_finite;
    if (r.scales.gemm1 > 0) f << ", \"input_scales\": [" << r.scales.gemm1 << ", " << r.scales.gemm2 << "]";
    if (r.kernels.gemm_us >= 0) f << ", \"gemm_us\": " << r.kernels.gemm_us;
    if (!r.kernels.kernels.empty()) {
      f << ", \"kernel_profile\": \"" << r.profile << "\", \"kernels\": [";
      for (size_t k = 0; k < r.kernels.kernels.size(); ++k) {
        const KernelTime& kt = r.kernels.kernels[k];
        f << (k ? ", " : "") << "{\"name\": " << json_string(kt.name) << ", \"us_per_forward\": " << kt.us_per_forward
          << ", \"calls_per_forward\": " << kt.calls_per_forward << "}";
      }
      f << "]";
    }
    f << "}";
  }
  f << "\n  ]\n}\n";
  require(bool(f), "fp4moe bench", "--json", "a file that can be written", path);
}

int run_on_gpu(const BenchOptions& o) {
  const Stream stream;
  Device device;
  int id = 0;
  cudaDeviceProp prop{};
  check_cuda(cudaGetDevice(&id), "cudaGetDevice");
  check_cuda(cudaGetDeviceProperties(&prop, id), "cudaGetDeviceProperties");
  device.name = prop.name;
  device.l2_bytes = cuda::device_l2_bytes(id);
  const TimingPolicy ceilings;
  device.copy_bytes_s = measure_copy_bytes_per_s(ceilings, stream.get());
  device.bf16_flops_s = measure_bf16_flops_per_s(ceilings, stream.get());
  std::printf("fp4moe bench on CUDA device %d: %s; L2 %.0f MiB; copy %.2f TB/s; BF16 matmul %.0f TFLOP/s\n", id,
              prop.name, device.l2_bytes / 1048576.0, device.copy_bytes_s / 1e12, device.bf16_flops_s / 1e12);
  Profiling profiling;
  profiling.on = o.kernels != BenchOptions::Kernels::kOff;
#if !FP4MOE_WITH_CUPTI
  if (profiling.on) {
    profiling = {false, "this build has no CUPTI"};
    std::printf("(no kernel times: %s)\n", profiling.unavailable.c_str());
  }
#endif
  std::printf("%-18s %-10s %6s %-8s %7s %6s %10s %10s %10s %6s %6s %8s  %s\n", "shape", "mode", "tokens", "routing",
              "touched", "copies", "us", "gemms us", "floor us", "ratio", "TB/s", "TFLOP/s", "bound");
  std::fflush(stdout);

  std::vector<RowResult> results;
  size_t largest = 0;  // the first row of the largest batch: W4A4's calibration sample, as in bench_moe.py
  for (size_t i = 0; i < o.rows.size(); ++i)
    if (o.rows[i].tokens > o.rows[largest].tokens) largest = i;
  const int max_tokens = o.rows[largest].tokens;
  for (const BenchShape& shape : o.shapes) {
    std::vector<BenchRouting> routings;
    int min_touched = shape.experts;
    for (const BenchRow& row : o.rows) {
      routings.push_back(bench_routing(shape, row, o.seed));
      min_touched = std::min(min_touched, routings.back().touched);
    }
    const MoeConfig config = layer_config(shape, o.mode, max_tokens);
    const ExpertPool pool(shape, o.seed, o.bias);
    InputScales scales;
    if (o.calibrated) {
      const int sample = std::min(o.rows[largest].tokens, kCalibrationTokens);
      scales = calibrate_input_scales(pool, config, row_tokens(shape, o.rows[largest].tokens, o.seed),
                                      routings[largest].ids, sample);
      std::printf("(%s: input scales calibrated on %d tokens: GEMM 1 %.4g, GEMM 2 %.4g)\n", shape.name.c_str(), sample,
                  scales.gemm1, scales.gemm2);
    }
    // Left free for the rows' inputs and output, and a margin.
    const size_t reserve = size_t(max_tokens) * (shape.hidden * 4 + shape.top_k * 8) + (size_t(1) << 28);
    LayerCopies copies = build_copies(shape, config, pool, o.calibrated ? &scales : nullptr, min_touched, o, device,
                                      reserve);
    if (int(copies.layers.size()) < copies.wanted)
      std::printf("(%s: %zu of the %d weight copies that rotate past L2 fit in --mem-gib %.0f)\n", shape.name.c_str(),
                  copies.layers.size(), copies.wanted, o.mem_gib);
    for (size_t i = 0; i < o.rows.size(); ++i) {
      results.push_back(measure_row(shape, o.rows[i], routings[i], copies, o, device, profiling));
      results.back().scales = scales;
      print_row(results.back(), mode_label(o), o.kernels == BenchOptions::Kernels::kList);
    }
  }
  if (!o.json.empty()) write_json(o.json, device, mode_label(o), results);
  const bool ok = std::none_of(results.begin(), results.end(), [](const RowResult& r) { return r.non_finite > 0; });
  if (!ok) std::printf("FAIL: a forward left outputs that are not finite (poisoned or NaN)\n");
  return ok ? 0 : 1;
}

#endif  // FP4MOE_WITH_CUDA

int run_bench(const Argv& argv) {
  const BenchOptions o = parse_options(argv);
  require(cuda_backend_available(), bench_command().line.name, "CUDA device",
          "one visible (the benchmark times the CUDA backend)",
          FP4MOE_WITH_CUDA ? "none" : "a build without the CUDA backend");
#if FP4MOE_WITH_CUDA
  return run_on_gpu(o);
#else
  return 2;
#endif
}

}  // namespace

const Command& bench_command() {
  static const Command command{
      {"fp4moe bench",
       "",
       shape_options({{"tokens", "LIST", "comma list of token batches, each 1..65536 (default 1,8,64,512)"},
        {"skewed", "on|off", "also a skewed row (half the tokens to 4 experts) from 64 tokens (default on)"},
        {"mode", "MODE", "w4a16 (default), or w4a4: activations quantized to NVFP4 too"},
        {"scales", "dynamic|calibrated",
         "w4a4's activation scales: each forward's amax (default), or fixed ones calibrated on the largest batch's "
         "first " + std::to_string(kCalibrationTokens) + " tokens, as a checkpoint's input_scale"},
        {"bias", "on|off", "every expert's projections with a bias, as gpt-oss's (default off)"},
        {"kernels", "on|off|list",
         "per-kernel times from CUPTI, after each row's timing: on (default) prints the GEMMs' time per forward "
         "(while any GEMM kernel ran) and writes every kernel's to --json; list also prints them; off"},
        {"seed", "S", "seed of the weights, tokens and routing (default 1234)"},
        {"min-runs", "N", "timed graph replays per row, at least (default 20)"},
        {"target-ms", "MS", "timed milliseconds per row beyond --min-runs (default 150)"},
        {"mem-gib", "G", "device memory for the weight copies, GiB (default 40)"},
        {"json", "FILE", "also write the device, the ceilings and every row to FILE"}}),
       "  Times whole MoE layers with random NVFP4 weights on the GPU, as ../shared/spec/benchmarking.md\n"
       "  says: routing by softmax top-k over seeded Gaussian logits, each row one CUDA-graph replay of the\n"
       "  forwards of enough weight copies to rotate past L2, the median over runs after warm-up. Prints per\n"
       "  row the experts touched, the copies, the time, the GEMM kernels' time (--kernels), the floor\n"
       "  (touched weight bytes at the measured copy bandwidth, or both GEMMs at the measured BF16 matmul\n"
       "  rate), the ratio and the achieved TB/s and TFLOP/s. The PyTorch peer: bench/bench_moe.py. Exits 1 when\n"
       "  a forward leaves an output that is not finite (outputs are NaN-poisoned first).\n"},
      "time the MoE layer on the benchmark shapes against its memory and compute floor",
      run_bench};
  return command;
}

}  // namespace fp4moe::cli
