// fp4moe: the command-line entry point. Dispatches to one subcommand; library errors become a
// one-line message and exit code 2.
#include <cstdio>
#include <exception>
#include <string_view>

#include "cli/commands.h"
#include "fp4moe/error.h"

namespace {

struct Command {
  std::string_view name;
  int (*run)(const fp4moe::cli::Argv&);
  std::string_view summary;
};

constexpr Command kCommands[] = {
    {"demo", fp4moe::cli::run_demo, "run a small built-in NVFP4 MoE layer and report its error and time"},
    {"inspect", fp4moe::cli::run_inspect, "DIR: list and validate the MoE layers of a checkpoint"},
    {"quantize", fp4moe::cli::run_quantize, "IN OUT: BF16 safetensors MoE checkpoint -> ModelOpt NVFP4"},
    {"run", fp4moe::cli::run_layer, "DIR --layer L [--tokens T]: run one MoE layer of a checkpoint"},
};

int usage(FILE* to) {
  std::fprintf(to, "usage: fp4moe COMMAND [ARGS]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(to, "  %-9.*s %.*s\n", int(c.name.size()), c.name.data(),
                                                  int(c.summary.size()), c.summary.data());
  return to == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(stderr);
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") return usage(stdout);
  for (const Command& c : kCommands) {
    if (c.name != name) continue;
    try {
      return c.run(fp4moe::cli::Argv(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
  }
  std::fprintf(stderr, "fp4moe: unknown command '%s'\n", argv[1]);
  return usage(stderr);
}
