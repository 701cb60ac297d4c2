"""fp4moe.route: router logits to the (topk_weights, topk_ids) that MoeLayer.run takes, by the routing
helpers of the numerics contract (spec section 5) and Llama-4's: on the host for host arrays, on the GPU for CUDA
torch tensors (one kernel on torch's current stream, no host sync: capturable in a CUDA graph with the
layer's forward). Either way the library's own rules: ties go to the lower expert id, DeepSeek-V3's
groups are scored by their two best biased scores."""

import numpy as np

from fp4moe import _core
from fp4moe._arrays import device_array, is_torch_tensor, to_host_numpy, torch_module
from fp4moe._core import Error


def route(logits, top_k, method="softmax_topk", *, renormalize=False, num_groups=1, topk_group=1,
          routed_scaling_factor=1.0, correction_bias=None):
    """logits float [T, E] -> (topk_weights float32 [T, k], topk_ids int32 [T, k]).

    method "softmax_topk": p = softmax(logits), the k largest, renormalized over them when `renormalize`
    (Mixtral, Qwen3); "topk_softmax": the k largest logits, softmax over them (gpt-oss);
    "sigmoid_grouped_topk" (DeepSeek-V3): s = sigmoid(logits); experts in `num_groups` groups ranked by
    the sum of their two best s + correction_bias; the best `topk_group` groups kept; the k best s +
    correction_bias among them; weights the unbiased s renormalized, times routed_scaling_factor;
    "topk_sigmoid" (Llama-4): the k largest logits, each weighted by its sigmoid (Llama-4 applies the
    weight to the layer's input: scale hidden_states by it and pass weights of 1, see the README).

    A torch tensor on a CUDA device is routed there (E at most 1024; correction_bias a tensor on the
    same device) into new tensors on that device, on torch's current stream. The ids are the host's;
    the weights agree with the host's to a few ulps. The host rejects non-finite logits or biases with
    an error; the device cannot without a sync, so there a token whose logits hold NaN or +inf, or only
    -inf (every token, for a non-finite bias) gets NaN weights, which turn its output row NaN, and the
    ids 0..k-1. Any other logits (any array type) are copied to the host as float32 and routed there
    into NumPy arrays."""
    if is_torch_tensor(logits) and logits.is_cuda:
        return _route_on_device(logits, int(top_k), str(method), bool(renormalize), int(num_groups),
                                int(topk_group), float(routed_scaling_factor), correction_bias)
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


def _route_on_device(logits, top_k, method, renormalize, num_groups, topk_group, routed_scaling_factor,
                     correction_bias):
    torch = torch_module()
    if logits.dim() != 2:
        raise Error(f"fp4moe: route: logits: expected a [tokens, experts] matrix, got shape {tuple(logits.shape)}")
    x = logits.detach().to(torch.float32).contiguous()
    bias = None
    if correction_bias is not None:
        if not (is_torch_tensor(correction_bias) and correction_bias.device == x.device):
            where = correction_bias.device if is_torch_tensor(correction_bias) else type(correction_bias).__name__
            raise Error(f"fp4moe: route: correction_bias: expected a tensor on {x.device} (the logits' device), "
                        f"got {where}")
        bias = device_array(correction_bias.detach().to(torch.float32).contiguous())
    shape = (x.shape[0], max(top_k, 0))  # a top_k out of range is reported by the native check
    weights = torch.empty(shape, dtype=torch.float32, device=x.device)
    ids = torch.empty(shape, dtype=torch.int32, device=x.device)
    _core.route_on_device(logits=device_array(x), topk_weights=device_array(weights), topk_ids=device_array(ids),
                          top_k=top_k, method=method, renormalize=renormalize, num_groups=num_groups,
                          topk_group=topk_group, routed_scaling_factor=routed_scaling_factor,
                          correction_bias=bias, stream=torch.cuda.current_stream(x.device).cuda_stream)
    return weights, ids
