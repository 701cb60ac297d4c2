"""Device arguments of fp4moe.MoeLayer and fp4moe.Workspace."""

from fp4moe import _core
from fp4moe._core import Error


def parse_device(device, where):
    """("cpu" | "cuda", index or -1 for the current CUDA device) from "cpu", "cuda", "cuda:N" or a
    torch.device; None picks "cuda" when fp4moe.cuda_available(). Errors name `where`."""
    if device is None:
        device = "cuda" if _core.cuda_available() else "cpu"
    text = str(device)
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise Error(f'fp4moe: {where}: device: expected "cpu", "cuda" or "cuda:N", got "{text}"')
    return kind, int(index) if index else -1
