// fp4moe._core.Checkpoint: a ModelOpt NVFP4 checkpoint directory opened once (config.json read, every
// safetensors header validated, the MoE layers found): its MoE layers as the tensor scan finds them,
// and what one of them needs to be created (its sizes, top-k and activation, from config.json checked
// against the tensors). Loading the layer's experts from it is Layer.load_checkpoint
// (layer_binding.h), through the same C++ loader as the CLI.
#include <nanobind/stl/string.h>

#include <string>
#include <type_traits>

#include "bindings/module.h"
#include "fp4moe/checkpoint/modelopt.h"

// MoeCheckpoint owns its file mappings: not copyable, although std::is_copy_constructible cannot tell
// (its member vector declares a copy constructor), so nanobind is told.
template <>
struct nanobind::detail::is_copy_constructible<fp4moe::MoeCheckpoint> : std::false_type {};

namespace fp4moe::bindings {
namespace {

nb::list moe_layers(const MoeCheckpoint& checkpoint) {
  nb::list layers;
  for (const MoeLayerTensors& t : checkpoint.moe_layers()) {
    nb::dict d;
    d["layer"] = t.layer;
    d["num_experts"] = t.num_experts;
    d["hidden"] = t.hidden;
    d["intermediate"] = t.intermediate;
    d["nvfp4"] = t.nvfp4;
    d["compressed_tensors"] = t.compressed_tensors;
    d["mxfp4"] = t.mxfp4;
    d["has_input_scale"] = t.has_input_scale;
    d["has_biases"] = t.has_biases();
    d["problem"] = t.problem;
    layers.append(d);
  }
  return layers;
}

nb::dict layer_config(const MoeCheckpoint& checkpoint, int layer, int tp_rank, int tp_size) {
  const MoeConfig c = checkpoint.moe_config(layer, QuantMode::kW4A16, 1, {tp_rank, tp_size});
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
}

}  // namespace

void bind_checkpoint(nb::module_& m) {
  nb::class_<MoeCheckpoint>(m, "Checkpoint")
      .def(nb::init<const std::string&>(), nb::arg("path"),
           "Opens the checkpoint directory `path`; a malformed file raises fp4moe.Error naming it.")
      .def("moe_layers", &moe_layers,
           "The MoE layers in layer order: dicts of layer, num_experts, hidden, intermediate, nvfp4, "
           "compressed_tensors (NVFP4 under compressed-tensors' names), mxfp4 (gpt-oss's MXFP4 experts, which "
           "`fp4moe quantize` converts), has_input_scale, has_biases (any expert "
           "bias, as gpt-oss's) and problem (why the layer cannot be loaded; empty when it can).")
      .def("layer_config", &layer_config, nb::arg("layer"), nb::arg("tp_rank") = 0, nb::arg("tp_size") = 1,
           "MoE layer `layer`: num_experts, hidden, intermediate (rank tp_rank's of tp_size: I / tp_size), top_k, "
           "activation, swiglu_limit, swiglu_alpha and has_input_scale. Raises fp4moe.Error listing the MoE "
           "layers there are, or naming a tp_size that does not split the intermediate.");
}

}  // namespace fp4moe::bindings
