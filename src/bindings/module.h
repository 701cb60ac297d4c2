// The parts of the extension module fp4moe._core, each registered from its own file.
#pragma once
#include <nanobind/nanobind.h>

#include <string>

#include "fp4moe/format/scale_layout.h"

namespace fp4moe::bindings {

namespace nb = nanobind;

void bind_layer(nb::module_& m);
void bind_checkpoint(nb::module_& m);
void bind_routing(nb::module_& m);
void bind_quantize(nb::module_& m);

// "linear" or "swizzled"; anything else throws naming `where`.
ScaleLayout parse_scale_layout(const std::string& name, const char* where);

}  // namespace fp4moe::bindings
