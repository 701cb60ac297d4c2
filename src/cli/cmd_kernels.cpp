// `fp4moe kernels`: which kernels the CUDA layer runs for each batch of a shape (moe/dispatch.h's tuning
// table and rules), without running them: on a modeled Hopper GPU by default, so it needs no GPU, or on
// the current device. The layer's FP4MOE_* overrides (a forced tile, a rule switched off) apply as they
// would to a layer made now.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/bench_plan.h"
#include "cli/commands.h"
#include "cli/kernel_choices.h"
#include "fp4moe/error.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::cli {
namespace {

constexpr int kMaxKernelTokens = 1 << 20;
constexpr const char* kDefaultTokens = "1,2,4,8,16,32,64,128,256,512,1024,4096,16384";

int run_kernels(const Argv& argv) {
  const Args args(argv, kernels_command().line);
  require(args.positional().empty(), args.command(), "arguments", "only options (see " + args.command() + " --help)",
          args.positional().empty() ? "" : args.positional()[0]);
  const std::vector<BenchShape> shapes = shapes_from_args(args);
  const std::vector<int> tokens =
      parse_token_list(args.get("tokens", kDefaultTokens), args.command(), "--tokens", kMaxKernelTokens);
  KernelChoiceOptions options;
  options.quant = quant_from_args(args);
  KernelDevice device;
  const std::string where = args.get("device", "hopper");
  require(where == "hopper" || where == "current", args.command(), "--device", "hopper or current",
          "'" + where + "'");
  device.current = where == "current";
  require(!device.current || cuda_backend_available(), args.command(), "--device current", "a visible CUDA device",
          "none");
  const long long sms = args.get_int("sms", device.sms);
  require(!device.current || !args.has("sms"), args.command(), "--sms", "left out with --device current",
          std::to_string(sms));
  require(sms >= 1 && sms <= 1024, args.command(), "--sms", "1..1024", sms);
  device.sms = int(sms);
  const long long l2_mib = args.get_int("l2-mib", device.l2_mib);
  require(!device.current || !args.has("l2-mib"), args.command(), "--l2-mib", "left out with --device current",
          std::to_string(l2_mib));
  require(l2_mib >= 1 && l2_mib <= 1024, args.command(), "--l2-mib", "1..1024", l2_mib);
  device.l2_mib = int(l2_mib);
  const long long local = args.get_int("local-experts", -1);
  for (const BenchShape& shape : shapes)
    require(local == -1 || (local >= 1 && local <= shape.experts), args.command(), "--local-experts",
            "1.." + std::to_string(shape.experts) + " (the experts of " + shape.name + ")", local);
  options.local_experts = int(local);

  std::printf("fp4moe kernels on %s, %s%s\n", kernel_device_line(device).c_str(),
              std::string(to_string(options.quant.mode)).c_str(),
              options.quant.calibrated ? " (calibrated scales)" : "");
  for (const BenchShape& shape : shapes) {
    std::printf("\n%s: %d experts (%d local), hidden %d, intermediate %d, top-k %d\n", shape.name.c_str(),
                shape.experts, local < 0 ? shape.experts : int(local), shape.hidden, shape.intermediate, shape.top_k);
    for (const std::string& line : kernel_choice_lines(shape, tokens, options, device))
      std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

const Command& kernels_command() {
  static const Command command{
      {"fp4moe kernels",
       "",
       shape_options({{"local-experts", "N", "expert parallelism: the experts on this GPU (default: all)"},
        {"tokens", "LIST", std::string("comma list of token batches (default ") + kDefaultTokens + ")"},
        {"mode", "MODE", "w4a16 (default) or w4a4"},
        {"scales", "dynamic|calibrated", "w4a4's activation scales: each forward's amax (default) or fixed ones"},
        {"device", "hopper|current", "a modeled Hopper GPU (default; no GPU needed) or the current CUDA device"},
        {"sms", "N", "the modeled Hopper's SMs (default 132: H100 SXM, H200)"},
        {"l2-mib", "N", "the modeled Hopper's L2 in MiB, which decides where y stays in it (default 50: H100 SXM; "
                        "an H200 has 60)"}}),
       "  Prints, per token batch, the kernels the CUDA layer runs for it: the path (the two decode kernels,\n"
       "  or the routing plan and grouped GEMMs), each GEMM's tile shape (src/cuda/moe/dispatch.h's names),\n"
       "  the large tiles for the experts with many rows, and the rules that apply. The choice depends only\n"
       "  on sizes known on the host, so a model of the device serves without a GPU. FP4MOE_GEMM and the\n"
       "  FP4MOE_* rule switches apply as they do to a layer.\n"},
      "list the kernels the CUDA layer runs for each batch of a shape, without running them",
      run_kernels};
  return command;
}

}  // namespace fp4moe::cli
