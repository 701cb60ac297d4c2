// fp4moe._core.Layer: the nanobind class over LayerBinding, and fp4moe._core.Workspace, the scratch
// memory layers may share (shared_workspace.h). Keyword names match fp4moe.MoeLayer, which converts
// inputs (torch tensors, ml_dtypes arrays, scale_2 shapes, biases to float32) before calling here.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bindings/device_guard.h"
#include "bindings/layer_binding.h"
#include "bindings/module.h"
#include "bindings/shared_workspace.h"
#include "fp4moe/error.h"

namespace fp4moe::bindings {
namespace {

// A handle on a workspace: the layers created with it share the SharedWorkspace it points to.
struct WorkspaceHandle {
  std::shared_ptr<SharedWorkspace> workspace;
};

Backend parse_backend(const std::string& name, const char* where) {
  if (name == "cpu") return Backend::kCpu;
  require(name == "cuda", where, "device", "\"cpu\", \"cuda\" or \"cuda:N\"", "\"" + name + "\"");
  return Backend::kCuda;
}

LayerSpec make_spec(int num_experts, int hidden, int intermediate, int top_k, int max_tokens,
                    const std::string& activation, const std::string& mode, int local_expert_start, int local_experts,
                    float limit, float alpha, const std::string& device, int device_index, int cpu_threads,
                    const WorkspaceHandle* workspace) {
  LayerSpec spec;
  MoeConfig& c = spec.config;
  c.num_experts = num_experts;
  c.hidden = hidden;
  c.intermediate = intermediate;
  c.top_k = top_k;
  c.max_tokens = max_tokens;
  c.activation.kind = parse_activation(activation, "MoeLayer", "activation");
  c.activation.limit = limit;
  c.activation.alpha = alpha;
  c.mode = parse_quant_mode(mode, "MoeLayer", "mode");
  c.local_expert_start = local_expert_start;
  c.local_experts = local_experts;
  spec.backend = parse_backend(device, "MoeLayer");
  spec.cuda_device = device_index;
  spec.cpu_threads = cpu_threads;
  if (workspace != nullptr) spec.workspace = workspace->workspace;
  return spec;
}

void load_weights(LayerBinding& layer, InArray w13, InArray w13_scale, InArray w13_gate_scale_2,
                  InArray w13_up_scale_2, InArray w2, InArray w2_scale, InArray w2_scale_2,
                  const std::string& scale_layout, const std::optional<InArray>& w13_bias,
                  const std::optional<InArray>& w2_bias) {
  StackedWeights w{w13, w13_scale, w13_gate_scale_2, w13_up_scale_2, w2, w2_scale, w2_scale_2,
                   parse_scale_layout(scale_layout, "MoeLayer.load_weights"), w13_bias, w2_bias};
  layer.load_weights(w);
}

WorkspaceHandle make_workspace(const std::string& device, int device_index, int64_t nbytes) {
  require(nbytes >= 0, "Workspace", "nbytes", "a non-negative byte count", nbytes);
  const Backend backend = parse_backend(device, "Workspace");
  const int cuda_device = backend == Backend::kCuda ? checked_cuda_device(device_index, "Workspace") : -1;
  return WorkspaceHandle{std::make_shared<SharedWorkspace>(backend, cuda_device, size_t(nbytes))};
}

}  // namespace

void bind_layer(nb::module_& m) {
  nb::class_<WorkspaceHandle>(m, "Workspace")
      .def("__init__",
           [](WorkspaceHandle* self, const std::string& device, int device_index, int64_t nbytes) {
             new (self) WorkspaceHandle(make_workspace(device, device_index, nbytes));
           },
           nb::arg("device"), nb::arg("device_index"), nb::arg("nbytes"))
      .def_prop_ro("nbytes", [](const WorkspaceHandle& w) { return w.workspace->size(); })
      .def_prop_ro("device", [](const WorkspaceHandle& w) { return w.workspace->device_name(); })
      .def_prop_ro("used", [](const WorkspaceHandle& w) { return w.workspace->used(); });

  nb::class_<LayerBinding>(m, "Layer")
      .def("__init__",
           [](LayerBinding* self, int num_experts, int hidden, int intermediate, int top_k, int max_tokens,
              const std::string& activation, const std::string& mode, int local_expert_start, int local_experts,
              float limit, float alpha, const std::string& device, int device_index, int cpu_threads,
              const WorkspaceHandle* workspace) {
             new (self) LayerBinding(make_spec(num_experts, hidden, intermediate, top_k, max_tokens, activation, mode,
                                               local_expert_start, local_experts, limit, alpha, device, device_index,
                                               cpu_threads, workspace));
           },
           nb::arg("num_experts"), nb::arg("hidden"), nb::arg("intermediate"), nb::arg("top_k"),
           nb::arg("max_tokens"), nb::arg("activation"), nb::arg("mode"), nb::arg("local_expert_start"),
           nb::arg("local_experts"), nb::arg("limit"), nb::arg("alpha"), nb::arg("device"),
           nb::arg("device_index"), nb::arg("cpu_threads"), nb::arg("workspace").none())
      .def("load_weights", &load_weights, nb::arg("w13"), nb::arg("w13_scale"), nb::arg("w13_gate_scale_2"),
           nb::arg("w13_up_scale_2"), nb::arg("w2"), nb::arg("w2_scale"), nb::arg("w2_scale_2"),
           nb::arg("scale_layout"), nb::arg("w13_bias").none(), nb::arg("w2_bias").none())
      .def(
          "load_checkpoint",
          [](LayerBinding& self, const MoeCheckpoint& checkpoint, int layer, int tp_rank, int tp_size) {
            self.load_checkpoint(checkpoint, layer, {tp_rank, tp_size});
          },
          nb::arg("checkpoint"), nb::arg("layer"), nb::arg("tp_rank"), nb::arg("tp_size"))
      .def("set_input_scales", &LayerBinding::set_input_scales, nb::arg("gemm1_input_scale"),
           nb::arg("gemm2_input_scale"))
      .def("run", &LayerBinding::run, nb::arg("hidden_states"), nb::arg("topk_weights"), nb::arg("topk_ids"),
           nb::arg("out"), nb::arg("stream"))
      .def("reference_forward", &LayerBinding::reference_forward, nb::arg("hidden_states"),
           nb::arg("topk_weights"), nb::arg("topk_ids"))
      .def_prop_ro("workspace_bytes", &LayerBinding::workspace_bytes)
      .def_prop_ro("weights_loaded", &LayerBinding::weights_loaded)
      .def_prop_ro("is_cuda", &LayerBinding::is_cuda)
      .def_prop_ro("cuda_device", &LayerBinding::cuda_device)
      .def_prop_ro("num_experts", [](const LayerBinding& l) { return l.config().num_experts; })
      .def_prop_ro("hidden", [](const LayerBinding& l) { return l.config().hidden; })
      .def_prop_ro("intermediate", [](const LayerBinding& l) { return l.config().intermediate; })
      .def_prop_ro("top_k", [](const LayerBinding& l) { return l.config().top_k; })
      .def_prop_ro("max_tokens", [](const LayerBinding& l) { return l.config().max_tokens; })
      .def_prop_ro("local_expert_start", [](const LayerBinding& l) { return l.config().local_expert_start; })
      .def_prop_ro("num_local_experts", [](const LayerBinding& l) { return l.config().num_local_experts(); })
      .def_prop_ro("activation",
                   [](const LayerBinding& l) { return std::string(to_string(l.config().activation.kind)); })
      .def_prop_ro("swiglu_limit", [](const LayerBinding& l) { return l.config().activation.limit; })
      .def_prop_ro("swiglu_alpha", [](const LayerBinding& l) { return l.config().activation.alpha; })
      .def_prop_ro("mode", [](const LayerBinding& l) { return std::string(to_string(l.config().mode)); });
}

}  // namespace fp4moe::bindings
