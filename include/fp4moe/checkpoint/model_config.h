// What a Hugging Face checkpoint's config.json (and its ModelOpt quantization config) says about
// the MoE layers: sizes, top-k, activation, the router's method, and the quantization recipe.
// Field names differ by model family; the mapping is written down in model_config.cpp.
#pragma once
#include <string>
#include <vector>

#include "fp4moe/moe/config.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe {

struct MoeModelConfig {
  std::string config_path;  // the config.json it came from, for error messages
  std::string model_type;
  int num_experts = 0;   // n_routed_experts | num_experts | num_local_experts
  int hidden = 0;        // hidden_size
  int intermediate = 0;  // moe_intermediate_size | intermediate_size
  int top_k = 0;         // num_experts_per_tok
  ActivationSpec activation;

  // The router's method; `routing_known` is false for routers fp4moe::route does not compute exactly
  // (DeepSeek-V2's group-limited softmax, a scaled softmax, sigmoid scores without renormalisation), with
  // the reason in `routing_note`. correction_bias is left null: it is a tensor, see read_router().
  bool routing_known = false;
  RoutingParams routing;
  std::string routing_note;
  // Llama-4 weights each token's input by its router weight rather than the expert's output: y =
  // expert(w * x) with one expert per token. A MoeLayer computes that from x scaled by w (in BF16, as
  // vLLM's apply_router_weight_on_input does) and weights of 1.
  bool router_weight_on_input = false;

  // The quantization recipe: ModelOpt's (hf_quant_config.json "quantization", else config.json
  // "quantization_config"), compressed-tensors' or gpt-oss's MXFP4 (config.json "quantization_config");
  // quant_algo is empty for an unquantized checkpoint.
  std::string quant_algo;
  // Who wrote the recipe: "modelopt", "compressed-tensors" (quantization_config's quant_method; its
  // format "nvfp4-pack-quantized" gives quant_algo "NVFP4"), "mxfp4" (quant_algo "MXFP4", group_size 32,
  // exclude_modules its modules_to_not_convert), or empty for an unquantized checkpoint.
  std::string quant_format;
  int group_size = 0;
  std::vector<std::string> exclude_modules;
};

// Reads DIR/config.json and, when present, DIR/hf_quant_config.json. Missing or ill-typed fields
// throw an Error naming the file and the field; an unknown hidden_act throws listing the known ones.
MoeModelConfig read_model_config(const std::string& dir);

}  // namespace fp4moe
