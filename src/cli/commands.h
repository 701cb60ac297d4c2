// The CLI subcommands: each one's command line (cli/args.h: operands, options, what --help prints),
// a one-line summary for `fp4moe --help`, and the function that runs it on the arguments after its
// name and returns the exit code.
#pragma once
#include <string>

#include "cli/args.h"

namespace fp4moe::cli {

struct Command {
  CommandLine line;
  std::string summary;  // what it does, without its operands (`fp4moe --help` prints the synopsis beside it)
  int (*run)(const Argv& args);
};

const Command& accuracy_command();  // cmd_accuracy.cpp
const Command& bench_command();     // cmd_bench.cpp
const Command& demo_command();      // cmd_demo.cpp
const Command& inspect_command();   // cmd_checkpoint.cpp
const Command& kernels_command();   // cmd_kernels.cpp (builds with the CUDA backend)
const Command& quantize_command();  // cmd_checkpoint.cpp
const Command& run_command();       // cmd_checkpoint.cpp ("fp4moe run")

}  // namespace fp4moe::cli
