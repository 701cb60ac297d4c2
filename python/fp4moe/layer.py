"""fp4moe.MoeLayer: one NVFP4 MoE layer on the CPU or a CUDA device, with the interface of the
NVFP4 MoE integrations of inference engines (stacked ModelOpt checkpoint tensors in, run() with
the router's top-k out). The workspace is reserved once, here, for max_tokens tokens: the layer's own,
or an fp4moe.Workspace that the model's layers share."""

import os

import numpy as np

from fp4moe import _core
from fp4moe._arrays import device_array, dtype_name, is_torch_tensor, on_cuda_device, to_host_numpy, torch_module
from fp4moe._core import Error
from fp4moe._device import parse_device
from fp4moe.workspace import Workspace

_DEFAULT_SWIGLU_LIMIT = 7.0  # ActivationSpec.limit


def _scale_2_pair(scale_2, num_experts):
    """ModelOpt w13 weight_scale_2 as (gate, up) float32 [E] arrays, from [E] (shared) or [E, 2]."""
    a = to_host_numpy(scale_2, "w13_scale_2").astype(np.float32)
    if a.ndim == 2 and a.shape[1] == 2:
        return np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1])
    if a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1):
        flat = a.reshape(-1)
        return flat, flat
    raise Error(f"fp4moe: MoeLayer.load_weights: w13_scale_2: expected shape [{num_experts}] (gate and up share it) "
                f"or [{num_experts}, 2] (gate, up), got {list(a.shape)}")


_BIAS_DTYPES = ("float32", "bfloat16", "float16")


def _host_bias(value, name):
    """An expert bias (NumPy, ml_dtypes or torch, on any device) as a C-contiguous float32 NumPy array
    on the host, converted exactly from float32, bfloat16 or float16; None stays None (no bias). The
    native module checks its shape and that every value is finite."""
    if value is None:
        return None
    if is_torch_tensor(value):
        dtype = str(value.dtype).replace("torch.", "")
        if dtype in _BIAS_DTYPES:
            return value.detach().to(device="cpu", dtype=torch_module().float32).contiguous().numpy()
    else:
        a = value if isinstance(value, np.ndarray) else np.asarray(value)
        dtype = a.dtype.name
        if dtype in _BIAS_DTYPES:
            return np.ascontiguousarray(a, dtype=np.float32)
    raise Error(f"fp4moe: MoeLayer.load_weights: {name}: expected float32, bfloat16 or float16 elements, "
                f"got {dtype}")


def _input_scale(value, name):
    """One ModelOpt input_scale for the whole layer: the max over experts (as vLLM does), 0 for None
    (dynamic: the amax is taken on the device in every forward)."""
    if value is None:
        return 0.0
    a = to_host_numpy(value, name).astype(np.float32).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise Error(f"fp4moe: MoeLayer.load_weights: {name}: expected finite positive input_scale values "
                    f"(calibrated amax / 2688) or None for dynamic scaling, got {a.tolist()[:8]}")
    return float(a.max())


class MoeLayer:
    """An NVFP4 MoE layer: create, load_weights() once, then run() as often as needed.

    device: "cpu", "cuda", "cuda:N" or a torch.device; None picks "cuda" when fp4moe.cuda_available().
    activation: "silu", "silu_clamped", "swiglu_oai" or "gelu_tanh"; mode: "w4a16" or "w4a4".
    swiglu_limit / swiglu_alpha: the clamp limit (default 7.0) and alpha of silu_clamped / swiglu_oai.
    local_expert_start / local_experts: expert parallelism; ids outside the range contribute nothing.
    workspace: an fp4moe.Workspace on the layer's device to share with other layers whose forwards
    never overlap with this one's (fp4moe.workspace says when that holds); None: a workspace of its own.
    """

    def __init__(self, num_experts, hidden, intermediate, top_k, max_tokens, *, activation="silu", mode="w4a16",
                 local_expert_start=0, local_experts=None, swiglu_limit=None, swiglu_alpha=1.702, device=None,
                 cpu_threads=0, workspace=None):
        kind, index = parse_device(device, "MoeLayer")
        if workspace is not None and not isinstance(workspace, Workspace):
            raise Error(f"fp4moe: MoeLayer: workspace: expected an fp4moe.Workspace or None, "
                        f"got {type(workspace).__name__}")
        self._workspace = workspace
        self._native = _core.Layer(
            num_experts=int(num_experts), hidden=int(hidden), intermediate=int(intermediate), top_k=int(top_k),
            max_tokens=int(max_tokens), activation=str(activation), mode=str(mode),
            local_expert_start=int(local_expert_start),
            local_experts=-1 if local_experts is None else int(local_experts),
            limit=_DEFAULT_SWIGLU_LIMIT if swiglu_limit is None else float(swiglu_limit), alpha=float(swiglu_alpha),
            device=kind, device_index=index, cpu_threads=int(cpu_threads),
            workspace=None if workspace is None else workspace._native)

    @classmethod
    def from_checkpoint(cls, path, layer, max_tokens, *, mode="w4a16", local_expert_start=0, local_experts=None,
                        tp_rank=0, tp_size=1, device=None, cpu_threads=0, workspace=None):
        """MoE layer `layer` of a Hugging Face checkpoint directory in ModelOpt's NVFP4 layout (config.json
        plus single or sharded safetensors), with its weights loaded: sizes, top-k and activation come from
        config.json, checked against the tensors; every local expert is validated before the first is
        loaded; in mode "w4a4" the checkpoint's input_scale values (their max over the local experts) are
        the calibrated scales when it has them, else the scales are dynamic.

        tp_rank / tp_size: tensor parallelism over the intermediate. The layer is rank tp_rank's shard, of
        intermediate I / tp_size (a multiple of 16): its rows of gate and up and columns of down, down's
        bias on rank 0 only. The ranks' outputs add up to the layer's; the caller all-reduces them. The
        other arguments are those of MoeLayer()."""
        return cls._from_open_checkpoint(_core.Checkpoint(path=os.fspath(path)), layer, max_tokens, mode=mode,
                                         local_expert_start=local_expert_start, local_experts=local_experts,
                                         tp_rank=tp_rank, tp_size=tp_size, device=device, cpu_threads=cpu_threads,
                                         workspace=workspace)

    @classmethod
    def _from_open_checkpoint(cls, checkpoint, layer, max_tokens, *, tp_rank=0, tp_size=1, **options):
        """from_checkpoint on a _core.Checkpoint already open (fp4moe.load_moe_layers opens it once)."""
        c = checkpoint.layer_config(layer=int(layer), tp_rank=int(tp_rank), tp_size=int(tp_size))
        self = cls(c["num_experts"], c["hidden"], c["intermediate"], c["top_k"], max_tokens,
                   activation=c["activation"], swiglu_limit=c["swiglu_limit"], swiglu_alpha=c["swiglu_alpha"],
                   **options)
        self._native.load_checkpoint(checkpoint=checkpoint, layer=int(layer), tp_rank=int(tp_rank),
                                     tp_size=int(tp_size))
        return self

    # ---- configuration ----
    num_experts = property(lambda self: self._native.num_experts)
    hidden = property(lambda self: self._native.hidden)
    intermediate = property(lambda self: self._native.intermediate)
    top_k = property(lambda self: self._native.top_k)
    max_tokens = property(lambda self: self._native.max_tokens)
    local_expert_start = property(lambda self: self._native.local_expert_start)
    num_local_experts = property(lambda self: self._native.num_local_experts)
    activation = property(lambda self: self._native.activation)
    mode = property(lambda self: self._native.mode)
    swiglu_limit = property(lambda self: self._native.swiglu_limit)
    swiglu_alpha = property(lambda self: self._native.swiglu_alpha)
    workspace_bytes = property(lambda self: self._native.workspace_bytes,
                               doc="Bytes of workspace a forward of max_tokens tokens uses.")
    workspace = property(lambda self: self._workspace,
                         doc="The fp4moe.Workspace shared with other layers, or None (the layer's own).")
    weights_loaded = property(lambda self: self._native.weights_loaded)

    @property
    def device(self):
        return f"cuda:{self._native.cuda_device}" if self._native.is_cuda else "cpu"

    def __repr__(self):
        return (f"fp4moe.MoeLayer(num_experts={self.num_experts}, hidden={self.hidden}, "
                f"intermediate={self.intermediate}, top_k={self.top_k}, max_tokens={self.max_tokens}, "
                f"activation={self.activation!r}, mode={self.mode!r}, local_expert_start={self.local_expert_start}, "
                f"local_experts={self.num_local_experts}, device={self.device!r})")

    # ---- weights ----
    def load_weights(self, w13, w13_scale, w13_scale_2, w2, w2_scale, w2_scale_2, a13_scale=None, a2_scale=None,
                     scale_layout="linear", *, w13_bias=None, w2_bias=None):
        """Uploads the local experts, stacked as in ModelOpt NVFP4 checkpoints (E = local experts):

        w13 uint8 [E, 2I, H/2] (gate rows then up rows), w13_scale E4M3 bytes (uint8 or float8_e4m3fn)
        [E, 2I, H/16], or per expert the swizzled 128x4 tiles of the whole [2I, H] matrix when
        scale_layout="swizzled"; w13_scale_2 float32 [E] or [E, 2] (gate, up); w2 uint8 [E, H, I/2],
        w2_scale [E, H, I/16] (or swizzled), w2_scale_2 float32 [E]. a13_scale / a2_scale: ModelOpt
        input_scale (scalar or per expert: the max is used) for mode "w4a4", None for dynamic scaling;
        ignored in mode "w4a16". Any array type on any device: torch tensors already on a CUDA layer's
        device are read there (no copy through the host; swizzled w13 scales excepted), everything else
        is copied to the host first.

        w13_bias [E, 2I] (gate then up, as vLLM's w13_bias) and w2_bias [E, H]: the experts' biases
        (gpt-oss has them), float32, bfloat16 or float16 (converted exactly to float32 on the host),
        finite; None is a zero bias. Added to the projections' FP32 outputs after weight_scale_2: gate
        and up before the activation, down before the top-k weight (y_pair = W2 h + b2).
        """
        e = self.num_local_experts
        gate_2, up_2 = _scale_2_pair(w13_scale_2, e)
        swizzled = str(scale_layout) == "swizzled"
        self._native.load_weights(
            w13=self._weight_array(w13, "w13"),
            w13_scale=to_host_numpy(w13_scale, "w13_scale") if swizzled else self._weight_array(w13_scale, "w13_scale"),
            w13_gate_scale_2=gate_2, w13_up_scale_2=up_2, w2=self._weight_array(w2, "w2"),
            w2_scale=self._weight_array(w2_scale, "w2_scale"),
            w2_scale_2=to_host_numpy(w2_scale_2, "w2_scale_2").astype(np.float32).reshape(-1),
            scale_layout=str(scale_layout), w13_bias=_host_bias(w13_bias, "w13_bias"),
            w2_bias=_host_bias(w2_bias, "w2_bias"))
        if self.mode == "w4a4":
            self._native.set_input_scales(_input_scale(a13_scale, "a13_scale"), _input_scale(a2_scale, "a2_scale"))

    def _weight_array(self, x, name):
        """A torch tensor on this CUDA layer's device as it is (contiguous bytes, zero-copy DLPack), anything
        else as a host NumPy array: load_weights reads codes and block scales from either."""
        on_device = on_cuda_device(x, self._native.cuda_device) if self._native.is_cuda else None
        return on_device if on_device is not None else to_host_numpy(x, name)

    # ---- forward ----
    def run(self, hidden_states, topk_weights, topk_ids, out=None, stream=None):
        """y = sum_j topk_weights[:, j] * expert_{topk_ids[:, j]}(hidden_states), BF16 [T, H].

        hidden_states bf16 [T, H] (torch.bfloat16; NumPy: ml_dtypes.bfloat16 or uint16 holding bf16
        bits), topk_weights float32 [T, k], topk_ids int32 [T, k] (int64 is rejected: convert it),
        all C-contiguous on the layer's device. `out` (same type as hidden_states) is allocated when
        None. stream: a cudaStream_t as int (or a torch.cuda.Stream); None means torch's current stream for torch CUDA
        tensors, else the legacy default stream. Returns out."""
        if out is None:
            out = self._new_output(hidden_states)
        if stream is None:
            stream = self._default_stream(hidden_states)
        stream = getattr(stream, "cuda_stream", stream)  # a torch.cuda.Stream is accepted too
        self._native.run(device_array(hidden_states), device_array(topk_weights), device_array(topk_ids),
                         device_array(out), int(stream))
        return out

    def _new_output(self, hidden_states):
        if is_torch_tensor(hidden_states):
            return torch_module().empty(hidden_states.shape, dtype=hidden_states.dtype, device=hidden_states.device)
        if isinstance(hidden_states, np.ndarray):
            return np.empty(hidden_states.shape, dtype=hidden_states.dtype)
        raise Error(f"fp4moe: MoeLayer.run: out: expected an output array when hidden_states is not a torch tensor "
                    f"or NumPy array, got hidden_states of type {dtype_name(hidden_states)}")

    @staticmethod
    def _default_stream(hidden_states):
        if is_torch_tensor(hidden_states) and hidden_states.is_cuda:
            return torch_module().cuda.current_stream(hidden_states.device).cuda_stream
        return 0


def reference_forward(layer, hidden_states, topk_weights, topk_ids):
    """The float64 reference of the numerics contract on a CPU layer's weights: float64 [T, H],
    not rounded to BF16 (the same activation quantization as the layer's mode)."""
    if not isinstance(layer, MoeLayer):
        raise Error(f"fp4moe: reference_forward: layer: expected an fp4moe.MoeLayer, got {type(layer).__name__}")
    return layer._native.reference_forward(device_array(hidden_states), device_array(topk_weights),
                                           device_array(topk_ids))
