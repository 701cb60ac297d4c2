"""fp4moe as PyTorch custom ops: torch.ops.fp4moe.moe_forward (returns a new tensor),
torch.ops.fp4moe.moe_forward_out (writes a given one) and torch.ops.fp4moe.route (router logits to
top-k weights and ids, fp4moe.route), opaque to torch.compile (fake kernels give the shapes) and, on
CUDA tensors, capturable in a CUDA graph: they launch on torch's current stream, allocate nothing but
their outputs (the layer owns its workspace) and never wait for the device.

Custom ops cannot take Python objects, so a layer is passed by an integer handle from
register_layer(); Fp4MoE (an nn.Module) does that for you."""

import itertools
import weakref
from typing import Optional, Tuple

import torch

from fp4moe._core import Error
from fp4moe.layer import MoeLayer
from fp4moe.routing import route as _route

_layers = {}
_next_handle = itertools.count(1)


def register_layer(layer):
    """Makes `layer` callable from the custom ops; returns its handle. The registry keeps the layer
    alive until unregister_layer(handle)."""
    if not isinstance(layer, MoeLayer):
        raise Error(f"fp4moe: register_layer: layer: expected an fp4moe.MoeLayer, got {type(layer).__name__}")
    handle = next(_next_handle)
    _layers[handle] = layer
    return handle


def unregister_layer(handle):
    _layers.pop(handle, None)


def get_layer(handle):
    layer = _layers.get(handle)
    if layer is None:
        raise Error(f"fp4moe: moe_forward: layer_handle: expected a handle from fp4moe.torch.register_layer(), "
                    f"got {handle} (unknown or unregistered)")
    return layer


def _current_stream(t):
    return torch.cuda.current_stream(t.device).cuda_stream if t.is_cuda else 0


@torch.library.custom_op("fp4moe::moe_forward_out", mutates_args=("out",))
def moe_forward_out(hidden_states: torch.Tensor, topk_weights: torch.Tensor, topk_ids: torch.Tensor,
                    out: torch.Tensor, layer_handle: int) -> None:
    """out[T, H] = the MoE layer `layer_handle` applied to hidden_states (bf16 [T, H]) with the
    router's topk_weights (float32 [T, k]) and topk_ids (int32 [T, k])."""
    get_layer(layer_handle).run(hidden_states, topk_weights, topk_ids, out=out, stream=_current_stream(hidden_states))


@torch.library.custom_op("fp4moe::moe_forward", mutates_args=())
def moe_forward(hidden_states: torch.Tensor, topk_weights: torch.Tensor, topk_ids: torch.Tensor,
                layer_handle: int) -> torch.Tensor:
    """Returns the MoE layer `layer_handle` applied to hidden_states (bf16 [T, H]) with the router's
    topk_weights (float32 [T, k]) and topk_ids (int32 [T, k]), as a new bf16 [T, H] tensor."""
    out = torch.empty(hidden_states.shape, dtype=hidden_states.dtype, device=hidden_states.device)
    get_layer(layer_handle).run(hidden_states, topk_weights, topk_ids, out=out, stream=_current_stream(hidden_states))
    return out


def _check_shapes(hidden_states, topk_weights, topk_ids, layer_handle):
    """Shape checks at trace time, so that torch.compile reports a misuse where it is written."""
    layer = get_layer(layer_handle)
    torch._check(hidden_states.dim() == 2, lambda: "fp4moe: moe_forward: hidden_states: expected a 2-D [T, H] tensor")
    torch._check(hidden_states.dtype == torch.bfloat16,
                 lambda: f"fp4moe: moe_forward: hidden_states: expected torch.bfloat16, got {hidden_states.dtype}")
    torch._check(hidden_states.shape[1] == layer.hidden,
                 lambda: f"fp4moe: moe_forward: hidden_states: expected {layer.hidden} columns (the layer's hidden)")
    for name, t in (("topk_weights", topk_weights), ("topk_ids", topk_ids)):
        torch._check(t.dim() == 2 and t.shape[0] == hidden_states.shape[0] and t.shape[1] == layer.top_k,
                     lambda name=name: f"fp4moe: moe_forward: {name}: expected shape [T, {layer.top_k}]")


@moe_forward.register_fake
def _moe_forward_fake(hidden_states, topk_weights, topk_ids, layer_handle):
    _check_shapes(hidden_states, topk_weights, topk_ids, layer_handle)
    return hidden_states.new_empty(hidden_states.shape)


@moe_forward_out.register_fake
def _moe_forward_out_fake(hidden_states, topk_weights, topk_ids, out, layer_handle):
    _check_shapes(hidden_states, topk_weights, topk_ids, layer_handle)


@torch.library.custom_op("fp4moe::route", mutates_args=())
def route(logits: torch.Tensor, top_k: int, method: str = "softmax_topk", renormalize: bool = False,
          num_groups: int = 1, topk_group: int = 1, routed_scaling_factor: float = 1.0,
          correction_bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """fp4moe.route as an op: (topk_weights float32 [T, top_k], topk_ids int32 [T, top_k]) on the
    logits' device; on a CUDA device one kernel, on the CPU the host routing."""
    weights, ids = _route(logits, top_k, method, renormalize=renormalize, num_groups=num_groups,
                          topk_group=topk_group, routed_scaling_factor=routed_scaling_factor,
                          correction_bias=correction_bias)
    if not logits.is_cuda:
        weights, ids = torch.from_numpy(weights), torch.from_numpy(ids)
    return weights, ids


@route.register_fake
def _route_fake(logits, top_k, method="softmax_topk", renormalize=False, num_groups=1, topk_group=1,
                routed_scaling_factor=1.0, correction_bias=None):
    torch._check(logits.dim() == 2, lambda: "fp4moe: route: logits: expected a [tokens, experts] matrix")
    shape = (logits.shape[0], top_k)
    return logits.new_empty(shape, dtype=torch.float32), logits.new_empty(shape, dtype=torch.int32)


class Fp4MoE(torch.nn.Module):
    """An NVFP4 MoE layer as an nn.Module: forward(hidden_states, topk_weights, topk_ids) calls
    torch.ops.fp4moe.moe_forward. Arguments are those of fp4moe.MoeLayer; device defaults to
    "cuda" when torch and fp4moe both see a GPU. int64 ids and non-float32 weights (as torch.topk
    and softmax give them) are converted before the op."""

    def __init__(self, num_experts, hidden, intermediate, top_k, max_tokens, **layer_options):
        super().__init__()
        if layer_options.get("device") is None:
            from fp4moe import cuda_available
            layer_options["device"] = "cuda" if torch.cuda.is_available() and cuda_available() else "cpu"
        self._attach(MoeLayer(num_experts, hidden, intermediate, top_k, max_tokens, **layer_options))

    @classmethod
    def from_layer(cls, layer):
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        module._attach(layer)
        return module

    def _attach(self, layer):
        self.layer = layer
        self.layer_handle = register_layer(layer)
        weakref.finalize(self, unregister_layer, self.layer_handle)

    def load_weights(self, *args, **kwargs):
        """See fp4moe.MoeLayer.load_weights."""
        self.layer.load_weights(*args, **kwargs)

    def forward(self, hidden_states, topk_weights, topk_ids):
        if topk_ids.dtype != torch.int32:
            topk_ids = topk_ids.to(torch.int32)
        if topk_weights.dtype != torch.float32:
            topk_weights = topk_weights.to(torch.float32)
        return torch.ops.fp4moe.moe_forward(hidden_states.contiguous(), topk_weights.contiguous(),
                                            topk_ids.contiguous(), self.layer_handle)

    def extra_repr(self):
        return repr(self.layer)
