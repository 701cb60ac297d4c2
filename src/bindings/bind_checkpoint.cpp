// fp4moe._core's view of a ModelOpt NVFP4 checkpoint: its MoE layers as the tensor scan finds them,
// and what one of them needs to be created (its sizes, top-k and activation, from config.json checked
// against the tensors). Loading the layer's experts is Layer.load_checkpoint (layer_binding.h),
// through the same C++ loader as the CLI.
#include <nanobind/stl/string.h>

#include <string>

#include "bindings/module.h"
#include "fp4moe/checkpoint/modelopt.h"

namespace fp4moe::bindings {

void bind_checkpoint(nb::module_& m) {
  m.def(
      "checkpoint_moe_layers",
      [](const std::string& path) {
        const MoeCheckpoint checkpoint(path);  // every safetensors header is validated here
        nb::list layers;
        for (const MoeLayerTensors& t : checkpoint.moe_layers()) {
          nb::dict d;
          d["layer"] = t.layer;
          d["num_experts"] = t.num_experts;
          d["hidden"] = t.hidden;
          d["intermediate"] = t.intermediate;
          d["nvfp4"] = t.nvfp4;
          d["has_input_scale"] = t.has_input_scale;
          d["problem"] = t.problem;
          layers.append(d);
        }
        return layers;
      },
      nb::arg("path"),
      "The MoE layers of the checkpoint directory `path`, in layer order: dicts of layer, num_experts, hidden, "
      "intermediate, nvfp4, has_input_scale and problem (why the layer cannot be loaded; empty when it can).");
  m.def(
      "checkpoint_layer_config",
      [](const std::string& path, int layer) {
        const MoeCheckpoint checkpoint(path);  // every safetensors header is validated here
        const MoeConfig c = checkpoint.moe_config(layer);
        nb::dict d;
        d["num_experts"] = c.num_experts;
        d["hidden"] = c.hidden;
        d["intermediate"] = c.intermediate;
        d["top_k"] = c.top_k;
        d["activation"] = std::string(to_string(c.activation.kind));
        d["swiglu_limit"] = c.activation.limit;
        d["swiglu_alpha"] = c.activation.alpha;
        d["has_input_scale"] = checkpoint.moe_layer(layer).has_input_scale;
        return d;
      },
      nb::arg("path"), nb::arg("layer"),
      "MoE layer `layer` of the checkpoint directory `path`: num_experts, hidden, intermediate, top_k, "
      "activation, swiglu_limit, swiglu_alpha and has_input_scale. Throws fp4moe.Error naming the file and "
      "field, or listing the MoE layers there are.");
}

}  // namespace fp4moe::bindings
