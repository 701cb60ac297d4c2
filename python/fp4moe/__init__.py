"""fp4moe: Mixture-of-Experts layers with NVFP4 weights, on the CPU or a CUDA GPU.

    layer = fp4moe.MoeLayer(num_experts, hidden, intermediate, top_k, max_tokens, device="cuda")
    layer.load_weights(w13, w13_scale, w13_scale_2, w2, w2_scale, w2_scale_2)
    out = layer.run(hidden_states, topk_weights, topk_ids)

The layers of a model can share one fp4moe.Workspace (workspace=...) instead of holding one each.

fp4moe.torch registers the layer as the PyTorch custom op torch.ops.fp4moe.moe_forward."""

from fp4moe._core import Error, built_with_cuda, cuda_available
from fp4moe.checkpoint import checkpoint_moe_layers, load_moe_layers
from fp4moe.layer import MoeLayer, reference_forward
from fp4moe.quant import (amax, dequantize_mxfp4, dequantize_nvfp4, global_scale_from_amax, nvfp4_from_mxfp4,
                          quantize_nvfp4, quantize_weight, swizzle_scales, unswizzle_scales)
from fp4moe.routing import route
from fp4moe.workspace import Workspace

__all__ = [
    "Error", "MoeLayer", "Workspace", "amax", "built_with_cuda", "checkpoint_moe_layers", "cuda_available",
    "dequantize_mxfp4", "dequantize_nvfp4", "global_scale_from_amax", "load_moe_layers", "nvfp4_from_mxfp4",
    "quantize_nvfp4", "quantize_weight", "reference_forward", "route", "swizzle_scales", "unswizzle_scales",
]
__version__ = "0.1.0"
Error.__module__ = "fp4moe"  # shown as fp4moe.Error in tracebacks
