// PLACEHOLDER: replaced by the foundation work (fp4moe demo).
#include "cli/commands.h"
#include "fp4moe/error.h"
namespace fp4moe::cli {
int run_demo(const Argv&) { throw Error("fp4moe demo: not built yet"); }
}  // namespace fp4moe::cli
