"""Interop with the Python safetensors package, driven by test_python_interop.cpp.

  interop.py write PATH        write known tensors (numpy dtypes, plus BF16 and F8_E4M3 raw)
  interop.py check PATH        check the tensors test_python_interop.cpp wrote
  interop.py check-tiny DIR    load the tiny NVFP4 checkpoint and check its ModelOpt tensors
Exit code 0 on success; a failed check prints what differed and exits 1.
"""
import json
import os
import struct
import sys

import numpy as np
import safetensors
from safetensors.numpy import save_file


def serialize_raw(tensors, metadata):
    """Serializes {name: (dtype, shape, bytes)} for dtypes numpy lacks (BF16, F8_E4M3)."""
    if hasattr(safetensors, "TensorSpec"):  # safetensors >= 0.8
        keep = {n: np.frombuffer(b, dtype=np.uint8).copy() for n, (_, _, b) in tensors.items()}
        names = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F32": "float32", "U8": "uint8"}
        specs = {n: safetensors.TensorSpec(dtype=names[d], shape=list(s), data_ptr=keep[n].ctypes.data,
                                           data_len=keep[n].nbytes) for n, (d, s, _) in tensors.items()}
        return safetensors.serialize(specs, metadata=metadata)
    return safetensors.serialize({n: {"dtype": d, "shape": list(s), "data": b} for n, (d, s, b) in tensors.items()},
                                 metadata=metadata)


def write(path):
    save_file({"f32": (np.arange(12, dtype=np.float32) * 0.5).reshape(3, 4),
               "u8": np.array([0, 1, 2, 250, 255], dtype=np.uint8),
               "i32": np.array([[-1, 2], [-3, 4]], dtype=np.int32),
               "f16": np.array([1.5, -2.0, 0.25], dtype=np.float16)}, path + ".numpy.safetensors",
              metadata={"format": "pt", "producer": "python"})
    raw = serialize_raw({"bf16": ("BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)),
                         "e4m3": ("F8_E4M3", [4], bytes([0x38, 0x40, 0x00, 0x7E]))}, {"format": "pt"})
    with open(path + ".raw.safetensors", "wb") as f:
        f.write(raw)


def fail(message):
    print("interop check failed: " + message)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        return {name: t for name, t in safetensors.deserialize(f.read())}


def expect(tensors, name, dtype, shape, data):
    if name not in tensors:
        fail(f"{name} missing")
    t = tensors[name]
    if t["dtype"] != dtype or list(t["shape"]) != list(shape) or bytes(t["data"]) != data:
        fail(f"{name}: got {t['dtype']} {t['shape']} {bytes(t['data'])!r}, expected {dtype} {shape} {data!r}")


def check(path):
    t = load(path)
    expect(t, "u8", "U8", [2, 3], bytes(range(6)))
    expect(t, "f32", "F32", [2], struct.pack("<2f", 0.5, -1.25))
    expect(t, "bf16", "BF16", [3], struct.pack("<3H", 0x3F80, 0x4000, 0xBF00))
    expect(t, "e4m3", "F8_E4M3", [2], bytes([0x38, 0x7E]))
    expect(t, "scalar", "F32", [], struct.pack("<f", 3.0))
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:
        if f.metadata() != {"format": "pt"}:
            fail(f"metadata {f.metadata()}")
        if not np.array_equal(f.get_tensor("u8"), np.arange(6, dtype=np.uint8).reshape(2, 3)):
            fail("u8 through safe_open")
    print("OK")


def check_tiny(directory):
    config = json.load(open(os.path.join(directory, "config.json")))
    if config["quantization_config"]["quant_algo"] != "NVFP4":
        fail("quant_algo")
    t = load(os.path.join(directory, "model.safetensors"))
    hidden, inter = config["hidden_size"], config["moe_intermediate_size"]
    for e in range(config["num_experts"]):
        for proj, (n, k) in {"gate_proj": (inter, hidden), "up_proj": (inter, hidden), "down_proj": (hidden, inter)}.items():
            p = f"model.layers.1.mlp.experts.{e}.{proj}."
            if t[p + "weight"]["dtype"] != "U8" or list(t[p + "weight"]["shape"]) != [n, k // 2]:
                fail(p + "weight")
            if t[p + "weight_scale"]["dtype"] != "F8_E4M3" or list(t[p + "weight_scale"]["shape"]) != [n, k // 16]:
                fail(p + "weight_scale")
            s2 = struct.unpack("<f", bytes(t[p + "weight_scale_2"]["data"]))[0]
            if not (s2 > 0 and np.isfinite(s2)):
                fail(p + "weight_scale_2")
    print("OK")


if __name__ == "__main__":
    {"write": write, "check": check, "check-tiny": check_tiny}[sys.argv[1]](sys.argv[2])
