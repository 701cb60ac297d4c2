"""How Python arrays reach the native module: host copies for weights and codecs, zero-copy DLPack
for run(). Torch is handled without importing it (it is optional): a tensor is recognised only when
the caller has already imported torch."""

import sys

import numpy as np

from fp4moe._core import Error


def torch_module():
    """The torch module if the caller imported it, else None."""
    return sys.modules.get("torch")


def is_torch_tensor(x):
    torch = torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def _torch_byte_view(t):
    """Views 1-byte and bf16 tensors as the unsigned integers NumPy and DLPack agree on."""
    torch = torch_module()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16), np.uint16
    if t.element_size() == 1 and t.dtype not in (torch.uint8, torch.int8, torch.bool):
        return t.view(torch.uint8), None  # float8_e4m3fn scales: the E4M3 bytes as they are
    return t, None


def _numpy_byte_view(a):
    """ml_dtypes bfloat16 / float8_e4m3fn arrays as uint16 / uint8 (DLPack cannot export them)."""
    name = a.dtype.name
    if name == "bfloat16":
        return a.view(np.uint16)
    if name.startswith("float8"):
        return a.view(np.uint8)
    return a


def to_host_numpy(x, name):
    """A C-contiguous NumPy copy or view of `x` in host memory (torch tensors, NumPy arrays, any
    CPU DLPack producer, Python scalars and lists)."""
    if is_torch_tensor(x):
        t, as_dtype = _torch_byte_view(x.detach())
        a = t.cpu().contiguous().numpy()
        return a.view(as_dtype) if as_dtype is not None else a
    if not isinstance(x, np.ndarray) and hasattr(x, "__dlpack__"):
        try:
            x = np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError) as e:
            raise Error(f"fp4moe: {name}: expected an array NumPy can read (host memory), got {type(x).__name__}: {e}")
    return np.ascontiguousarray(_numpy_byte_view(np.asarray(x)))


def on_cuda_device(x, index):
    """x as a zero-copy DLPack capsule of its bytes if it is a torch tensor on CUDA device `index`
    (made contiguous), else None."""
    if not (is_torch_tensor(x) and x.is_cuda and x.device.index == index):
        return None
    t, _ = _torch_byte_view(x.detach())
    t = t.contiguous()
    # The layer copies on the legacy default stream, which does not wait for torch's non-blocking
    # streams: let whatever wrote the tensor finish first.
    torch_module().cuda.synchronize(t.device)
    return device_array(t)


def device_array(x):
    """What the native module receives for an array on the layer's device, without a copy.

    Torch tensors travel as a DLPack capsule from torch.utils.dlpack.to_dlpack: Tensor.__dlpack__()
    without a stream would (in some torch versions) make the legacy default stream wait on the
    current one, which is illegal while a CUDA graph is being captured."""
    if is_torch_tensor(x):
        return torch_module().utils.dlpack.to_dlpack(x)
    if isinstance(x, np.ndarray):
        return _numpy_byte_view(x)
    return x


def dtype_name(x):
    dtype = getattr(x, "dtype", None)
    return str(dtype) if dtype is not None else type(x).__name__
