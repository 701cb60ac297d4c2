// fp4moe: the command-line entry point. Dispatches to one subcommand (`fp4moe COMMAND --help` prints
// its usage; `fp4moe --version` the version and backends); library errors become a one-line message
// and exit code 2.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "fp4moe/moe/layer.h"

namespace {

// A command's name after "fp4moe " ("fp4moe run" -> "run"): what `fp4moe --help` lists and argv[1] names.
std::string short_name(const fp4moe::cli::Command& c) { return c.line.name.substr(c.line.name.find(' ') + 1); }

// "run DIR --layer L": the short name and what the command cannot run without.
std::string command_line(const fp4moe::cli::Command& c) {
  const std::string synopsis = c.line.synopsis();
  return short_name(c) + (synopsis.empty() ? "" : " " + synopsis);
}

// Each command as `name synopsis  summary`, the summaries in one column.
int usage(FILE* to, std::span<const fp4moe::cli::Command* const> commands) {
  std::fprintf(to,
               "usage: fp4moe COMMAND [ARGS]   (fp4moe COMMAND --help: the command's options; fp4moe --version)\n\n"
               "commands:\n");
  size_t width = 0;
  for (const fp4moe::cli::Command* c : commands) width = std::max(width, command_line(*c).size());
  for (const fp4moe::cli::Command* c : commands)
    std::fprintf(to, "  %-*s  %s\n", int(width), command_line(*c).c_str(), c->summary.c_str());
  return to == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  using fp4moe::cli::Command;
  const Command* const commands[] = {&fp4moe::cli::demo_command(),     &fp4moe::cli::bench_command(),
#if FP4MOE_WITH_CUDA
                                     &fp4moe::cli::kernels_command(),
#endif
                                     &fp4moe::cli::inspect_command(),  &fp4moe::cli::quantize_command(),
                                     &fp4moe::cli::run_command(),      &fp4moe::cli::accuracy_command()};
  if (argc < 2) return usage(stderr, commands);
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") return usage(stdout, commands);
  if (name == "--version") {
    // The CUDA backend is compiled in or not; whether a device is there is a property of this machine.
    std::printf("fp4moe %s (backends: cpu%s; CUDA device available: %s)\n", FP4MOE_VERSION,
                FP4MOE_WITH_CUDA ? ", cuda" : "", fp4moe::cuda_backend_available() ? "yes" : "no");
    return 0;
  }
  for (const Command* c : commands) {
    if (short_name(*c) != name) continue;
    const fp4moe::cli::Argv args(argv + 2, argv + argc);
    if (fp4moe::cli::wants_help(args)) {
      std::fputs(c->line.usage().c_str(), stdout);
      return 0;
    }
    try {
      return c->run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
  }
  std::fprintf(stderr, "fp4moe: unknown command '%s'\n", argv[1]);
  return usage(stderr, commands);
}
