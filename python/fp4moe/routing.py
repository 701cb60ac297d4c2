"""fp4moe.route: router logits to the (topk_weights, topk_ids) that MoeLayer.run takes, by the routing
helpers of the numerics contract (spec section 5), on the host. Engines usually route on the GPU
themselves; this gives scripts and accuracy checks the library's own rules: ties go to the lower
expert id, DeepSeek-V3's groups are scored by their two best biased scores."""

import numpy as np

from fp4moe import _core
from fp4moe._arrays import is_torch_tensor, to_host_numpy, torch_module


def route(logits, top_k, method="softmax_topk", *, renormalize=False, num_groups=1, topk_group=1,
          routed_scaling_factor=1.0, correction_bias=None):
    """logits float [T, E] (any array type; copied to the host as float32) -> (topk_weights float32 [T, k],
    topk_ids int32 [T, k]) as NumPy arrays.

    method "softmax_topk": p = softmax(logits), the k largest, renormalized over them when `renormalize`
    (Mixtral, Qwen3); "topk_softmax": the k largest logits, softmax over them (gpt-oss);
    "sigmoid_grouped_topk" (DeepSeek-V3): s = sigmoid(logits); experts in `num_groups` groups ranked by
    the sum of their two best s + correction_bias; the best `topk_group` groups kept; the k best s +
    correction_bias among them; weights the unbiased s renormalized, times routed_scaling_factor.
    Non-finite logits or biases are rejected."""
    x = _host_float32(logits, "route: logits")
    bias = None if correction_bias is None else _host_float32(correction_bias, "route: correction_bias")
    return _core.route(logits=x, top_k=int(top_k), method=str(method), renormalize=bool(renormalize),
                       num_groups=int(num_groups), topk_group=int(topk_group),
                       routed_scaling_factor=float(routed_scaling_factor), correction_bias=bias)


def _host_float32(x, name):
    """x as a C-contiguous float32 NumPy array on the host, by value: bfloat16 (torch's, or ml_dtypes')
    is converted before to_host_numpy, which passes its bits on as uint16."""
    if is_torch_tensor(x):
        x = x.detach().to(torch_module().float32)
    elif isinstance(x, np.ndarray) and x.dtype.name == "bfloat16":
        x = x.astype(np.float32)
    return np.ascontiguousarray(to_host_numpy(x, name), dtype=np.float32)
