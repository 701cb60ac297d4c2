"""fp4moe.Workspace: scratch memory that several MoE layers share.

Each fp4moe.MoeLayer holds a workspace for max_tokens tokens, and most of it is the per-pair
intermediates: T*k rows of the hidden size in FP32 and of the intermediate size in BF16 (W4A4 and the
wide shapes on Hopper add more): 0.64 GB a layer for qwen3-30b-a3b at 8192 tokens and 3.09 GB for
DeepSeek-V3 (W4A16, H200), times the model's 48 or 58 MoE layers. A forward keeps nothing in its workspace for the
next one, so layers whose forwards never overlap (one stream, as a model's layers run) can share one:

    ws = fp4moe.Workspace(device="cuda")
    layers = [fp4moe.MoeLayer(..., workspace=ws) for _ in range(num_layers)]

The workspace grows, while layers are created, to the largest any of them needs. It never grows
once a forward has run on it (a CUDA graph captured on that forward would keep the old address): a
layer created after that which needs more is refused with fp4moe.Error. Create every layer first,
or size the workspace up front with nbytes. Forwards that may run at the same time (layers on
different streams without events between them) need workspaces of their own."""

from fp4moe import _core
from fp4moe._device import parse_device


class Workspace:
    """Scratch memory on one device for the MoeLayers created with workspace=this.

    device: "cpu", "cuda", "cuda:N" or a torch.device (None: "cuda" when fp4moe.cuda_available());
    nbytes: bytes to allocate now (layers grow it to what they need while no forward has used it)."""

    def __init__(self, device=None, nbytes=0):
        kind, index = parse_device(device, "Workspace")
        self._native = _core.Workspace(device=kind, device_index=index, nbytes=int(nbytes))

    nbytes = property(lambda self: self._native.nbytes, doc="Bytes allocated: the most any layer sharing it needs.")
    device = property(lambda self: self._native.device, doc='"cpu" or "cuda:N".')
    used = property(lambda self: self._native.used, doc="Whether a forward has run on it (it no longer grows).")

    def __repr__(self):
        return f"fp4moe.Workspace(device={self.device!r}, nbytes={self.nbytes}, used={self.used})"
