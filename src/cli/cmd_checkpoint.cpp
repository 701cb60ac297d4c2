// PLACEHOLDER: replaced by the checkpoint work (inspect, quantize, run).
#include "cli/commands.h"
#include "fp4moe/error.h"
namespace fp4moe::cli {
int run_inspect(const Argv&) { throw Error("fp4moe inspect: not built yet"); }
int run_quantize(const Argv&) { throw Error("fp4moe quantize: not built yet"); }
int run_layer(const Argv&) { throw Error("fp4moe run: not built yet"); }
}  // namespace fp4moe::cli
