// The CLI subcommands; each takes the arguments after its name and returns the exit code.
#pragma once
#include <string>
#include <vector>

namespace fp4moe::cli {

using Argv = std::vector<std::string>;

int run_demo(const Argv& args);      // cmd_demo.cpp
int run_inspect(const Argv& args);   // cmd_checkpoint.cpp
int run_quantize(const Argv& args);  // cmd_checkpoint.cpp
int run_layer(const Argv& args);     // cmd_checkpoint.cpp ("fp4moe run")

}  // namespace fp4moe::cli
