// The extension module fp4moe._core. fp4moe::Error surfaces as fp4moe.Error (a ValueError) with
// the C++ message unchanged; the Python package wraps everything else in friendlier signatures.
#include <nanobind/nanobind.h>

#include "bindings/module.h"
#include "fp4moe/error.h"
#include "fp4moe/moe/layer.h"

NB_MODULE(_core, m) {
  namespace nb = nanobind;
  m.doc() = "fp4moe native module: NVFP4 MoE layers (CPU and CUDA backends) and NVFP4 codecs";
  nb::exception<fp4moe::Error>(m, "Error", PyExc_ValueError);
  m.def("cuda_available", &fp4moe::cuda_backend_available,
        "True when this build has the CUDA backend and a CUDA device is visible.");
  m.attr("built_with_cuda") = bool(FP4MOE_WITH_CUDA);
  fp4moe::bindings::bind_layer(m);
  fp4moe::bindings::bind_checkpoint(m);
  fp4moe::bindings::bind_routing(m);
  fp4moe::bindings::bind_quantize(m);
}
