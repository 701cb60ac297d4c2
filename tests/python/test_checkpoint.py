"""fp4moe.MoeLayer.from_checkpoint and fp4moe.checkpoint_moe_layers on the committed tiny ModelOpt NVFP4
checkpoint (CPU backend): the layer list against config.json and the tensors, the layer built against the
same tensors read here by an independent safetensors parser and loaded by hand, against the NumPy float64
reference, with expert parallelism and W4A4's calibrated scales, and the errors for a wrong layer or path."""

import json
import pathlib

import numpy as np
import pytest

import fp4moe
import moe_data

CHECKPOINT = pathlib.Path(__file__).resolve().parents[1] / "data" / "tiny-nvfp4"
LAYER = 1  # layer 0 is dense (config.json's mlp_only_layers)
BOUND = 1e-2
_NUMPY_DTYPES = {"U8": np.uint8, "F8_E4M3": np.uint8, "F32": np.float32}  # E4M3 kept as its code bytes


def read_safetensors(path):
    """name -> NumPy array of a .safetensors file, from its header (little-endian u64 length, JSON) and
    data section: a reader of its own, so that the test does not check the C++ loader against itself."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in _NUMPY_DTYPES:
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=_NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


@pytest.fixture(scope="module")
def config():
    return json.loads((CHECKPOINT / "config.json").read_text())


@pytest.fixture(scope="module")
def stacked(config):
    """The layer's experts stacked as MoeLayer.load_weights takes them, and their dequantized weights."""
    t = read_safetensors(CHECKPOINT / "model.safetensors")
    e, i = config["num_experts"], config["moe_intermediate_size"]

    def per_expert(projection, suffix):
        return np.stack([t[f"model.layers.{LAYER}.mlp.experts.{x}.{projection}.{suffix}"] for x in range(e)])

    gate, up, down = (per_expert(p, "weight") for p in ("gate_proj", "up_proj", "down_proj"))
    gate_s, up_s, down_s = (per_expert(p, "weight_scale") for p in ("gate_proj", "up_proj", "down_proj"))
    gate_2, up_2, down_2 = (per_expert(p, "weight_scale_2").reshape(e) for p in ("gate_proj", "up_proj", "down_proj"))
    a13 = np.maximum(per_expert("gate_proj", "input_scale"), per_expert("up_proj", "input_scale")).reshape(e)
    return {
        "w13": np.concatenate([gate, up], axis=1), "w13_scale": np.concatenate([gate_s, up_s], axis=1),
        "w13_scale_2": np.stack([gate_2, up_2], axis=1), "w2": down, "w2_scale": down_s, "w2_scale_2": down_2,
        "a13_scale": a13, "a2_scale": per_expert("down_proj", "input_scale").reshape(e),
        "gate": np.stack([moe_data.dequantize(gate[x], gate_s[x], gate_2[x]) for x in range(e)]),
        "up": np.stack([moe_data.dequantize(up[x], up_s[x], up_2[x]) for x in range(e)]),
        "down": np.stack([moe_data.dequantize(down[x], down_s[x], down_2[x]) for x in range(e)]),
        "intermediate": i,
    }


def by_hand(config, stacked, first=0, count=None, mode="w4a16", **biases):
    e = config["num_experts"]
    count = e - first if count is None else count
    layer = fp4moe.MoeLayer(e, config["hidden_size"], stacked["intermediate"], config["num_experts_per_tok"], 16,
                            mode=mode, local_expert_start=first, local_experts=count, device="cpu")
    local = slice(first, first + count)
    layer.load_weights(stacked["w13"][local], stacked["w13_scale"][local], stacked["w13_scale_2"][local],
                       stacked["w2"][local], stacked["w2_scale"][local], stacked["w2_scale_2"][local],
                       a13_scale=stacked["a13_scale"][local], a2_scale=stacked["a2_scale"][local], **biases)
    return layer


def inputs(config, tokens, seed):
    rng = np.random.default_rng(seed)
    x = moe_data.to_bf16(rng.standard_normal((tokens, config["hidden_size"])))
    weights, ids = moe_data.random_routing(rng, tokens, config["num_experts"], config["num_experts_per_tok"])
    return x, weights, ids


def test_the_moe_layers_of_the_checkpoint(config, stacked):
    layers = fp4moe.checkpoint_moe_layers(CHECKPOINT)
    assert layers == [{
        "layer": LAYER, "num_experts": config["num_experts"], "hidden": config["hidden_size"],
        "intermediate": stacked["intermediate"], "nvfp4": True, "compressed_tensors": False, "mxfp4": False,
        "has_input_scale": True,
        "has_biases": False,
        "problem": "",
    }]


def test_sizes_and_activation_come_from_config_json(config):
    layer = fp4moe.MoeLayer.from_checkpoint(CHECKPOINT, LAYER, max_tokens=16, device="cpu")
    assert (layer.num_experts, layer.hidden, layer.intermediate, layer.top_k) == (
        config["num_experts"], config["hidden_size"], config["moe_intermediate_size"], config["num_experts_per_tok"])
    assert layer.activation == config["hidden_act"] and layer.max_tokens == 16 and layer.weights_loaded


def test_same_output_as_the_tensors_loaded_by_hand(config, stacked):
    x, weights, ids = inputs(config, 11, seed=1)
    y = fp4moe.MoeLayer.from_checkpoint(str(CHECKPOINT), LAYER, 16, device="cpu").run(x, weights, ids)
    assert np.array_equal(y, by_hand(config, stacked).run(x, weights, ids))
    err = moe_data.rel_error(y, moe_data.reference_moe(stacked, x, weights, ids))
    print(f"tiny checkpoint layer {LAYER}: rel error vs NumPy reference {err:.2e}")
    assert err < BOUND


def test_local_experts_and_w4a4_calibrated_scales(config, stacked):
    x, weights, ids = inputs(config, 9, seed=2)
    local = fp4moe.MoeLayer.from_checkpoint(CHECKPOINT, LAYER, 16, local_expert_start=2, local_experts=2,
                                            device="cpu")
    assert (local.local_expert_start, local.num_local_experts) == (2, 2)
    assert np.array_equal(local.run(x, weights, ids), by_hand(config, stacked, first=2, count=2).run(x, weights, ids))
    w4a4 = fp4moe.MoeLayer.from_checkpoint(CHECKPOINT, LAYER, 16, mode="w4a4", device="cpu")
    y = w4a4.run(x, weights, ids)
    assert np.array_equal(y, by_hand(config, stacked, mode="w4a4").run(x, weights, ids))
    ref = moe_data.reference_moe(stacked, x, weights, ids, mode="w4a4", a13_scale=float(stacked["a13_scale"].max()),
                                 a2_scale=float(stacked["a2_scale"].max()))
    assert moe_data.rel_error(y, ref) < BOUND


def test_wrong_layer_or_path_is_a_clear_error(tmp_path):
    with pytest.raises(fp4moe.Error, match=r"layer.*expected one of the MoE layers"):
        fp4moe.MoeLayer.from_checkpoint(CHECKPOINT, 0, 16, device="cpu")
    with pytest.raises(fp4moe.Error, match=str(tmp_path / "missing")):
        fp4moe.MoeLayer.from_checkpoint(tmp_path / "missing", LAYER, 16, device="cpu")
    with pytest.raises(fp4moe.Error, match=str(tmp_path / "missing")):
        fp4moe.checkpoint_moe_layers(tmp_path / "missing")


def tiny_tensors():
    """The tiny checkpoint's tensors, name -> (dtype, shape, bytes), and its header's metadata."""
    raw = (CHECKPOINT / "model.safetensors").read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name != "__metadata__":
            begin, end = info["data_offsets"]
            tensors[name] = (info["dtype"], info["shape"], data[begin:end])
    return tensors, header["__metadata__"]


def write_checkpoint(directory, tensors, metadata, config):
    """A checkpoint directory of one safetensors file, written by this file's own writer."""
    new_header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, (dtype, shape, payload) in tensors.items():
        new_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(payload)]}
        chunks.append(payload)
        offset += len(payload)
    header_bytes = json.dumps(new_header).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    directory.mkdir()
    (directory / "model.safetensors").write_bytes(len(header_bytes).to_bytes(8, "little") + header_bytes +
                                                  b"".join(chunks))
    (directory / "config.json").write_text(json.dumps(config))
    for name in ("hf_quant_config.json", "tokenizer_config.json"):
        (directory / name).write_bytes((CHECKPOINT / name).read_bytes())
    return directory


def write_two_moe_layer_checkpoint(directory, scale_byte=None):
    """The tiny checkpoint with a third decoder layer, 2, whose MoE experts are layer 1's in reverse order
    (so that its outputs differ). scale_byte: a byte written over the first block scale of layer 2's
    expert 0 gate_proj (0x7F: an E4M3 NaN)."""
    tensors, metadata = tiny_tensors()
    config = json.loads((CHECKPOINT / "config.json").read_text())
    experts = config["num_experts"]
    for name, value in list(tensors.items()):
        prefix = "model.layers.1.mlp.experts."
        if name.startswith(prefix):
            expert, rest = name[len(prefix):].split(".", 1)
            tensors[f"model.layers.2.mlp.experts.{experts - 1 - int(expert)}.{rest}"] = value
    if scale_byte is not None:
        dtype, shape, payload = tensors["model.layers.2.mlp.experts.0.gate_proj.weight_scale"]
        tensors["model.layers.2.mlp.experts.0.gate_proj.weight_scale"] = (dtype, shape, bytes([scale_byte]) + payload[1:])
    return write_checkpoint(directory, tensors, metadata, {**config, "num_hidden_layers": 3})


def write_biased_checkpoint(directory, config, stacked):
    """The tiny checkpoint with a BF16 bias on every projection of layer 1's experts (gpt-oss style), and
    those biases as float32: {"w13_bias": [E, 2I] gate then up, "w2_bias": [E, H]}."""
    tensors, metadata = tiny_tensors()
    e, h, i = config["num_experts"], config["hidden_size"], stacked["intermediate"]
    rng = np.random.default_rng(5)
    biases = {p: moe_data.to_bf16(rng.uniform(-0.5, 0.5, (e, rows)))
              for p, rows in (("gate_proj", i), ("up_proj", i), ("down_proj", h))}
    for p, values in biases.items():
        for x in range(e):
            bits = np.ascontiguousarray(values[x]).view(np.uint16)
            tensors[f"model.layers.{LAYER}.mlp.experts.{x}.{p}.bias"] = ("BF16", [int(values.shape[1])], bits.tobytes())
    path = write_checkpoint(directory, tensors, metadata, config)
    values = {p: moe_data.bf16_to_float64(bits).astype(np.float32) for p, bits in biases.items()}
    return path, {"w13_bias": np.concatenate([values["gate_proj"], values["up_proj"]], axis=1),
                  "w2_bias": values["down_proj"]}


def test_expert_biases_load_with_the_layer(tmp_path, config, stacked):
    """Listed, and the layer built from it equals the same tensors and biases loaded by hand."""
    path, biases = write_biased_checkpoint(tmp_path / "biased", config, stacked)
    assert [d["has_biases"] for d in fp4moe.checkpoint_moe_layers(path)] == [True]
    assert [d["has_biases"] for d in fp4moe.checkpoint_moe_layers(CHECKPOINT)] == [False]
    x, weights, ids = inputs(config, 11, seed=3)
    y = fp4moe.MoeLayer.from_checkpoint(path, LAYER, 16, device="cpu").run(x, weights, ids)
    assert np.array_equal(y, by_hand(config, stacked, **biases).run(x, weights, ids))
    assert not np.array_equal(y, by_hand(config, stacked).run(x, weights, ids))


def test_tensor_parallel_ranks(tmp_path, config, stacked):
    """tp_rank / tp_size: each rank's layer (I / 2) computes what its slices of the stacked tensors compute,
    loaded by hand here (gate and up rows, down's packed columns and block scales, down's bias on rank 0
    only), and the ranks' outputs add up to the whole layer's NumPy reference."""
    path, biases = write_biased_checkpoint(tmp_path / "biased", config, stacked)
    e, h, i, k = config["num_experts"], config["hidden_size"], stacked["intermediate"], config["num_experts_per_tok"]
    x, weights, ids = inputs(config, 13, seed=6)
    size, local = 2, i // 2
    total = np.zeros((13, h))
    for rank in range(size):
        layer = fp4moe.MoeLayer.from_checkpoint(path, LAYER, 16, tp_rank=rank, tp_size=size, device="cpu")
        assert layer.intermediate == local
        rows = np.r_[rank * local:(rank + 1) * local, i + rank * local:i + (rank + 1) * local]
        by_rank = fp4moe.MoeLayer(e, h, local, k, 16, device="cpu")
        codes = slice(rank * local // 2, (rank + 1) * local // 2)  # down's packed bytes, then its block scales
        blocks = slice(rank * local // 16, (rank + 1) * local // 16)
        by_rank.load_weights(
            np.ascontiguousarray(stacked["w13"][:, rows]), np.ascontiguousarray(stacked["w13_scale"][:, rows]),
            stacked["w13_scale_2"], np.ascontiguousarray(stacked["w2"][:, :, codes]),
            np.ascontiguousarray(stacked["w2_scale"][:, :, blocks]), stacked["w2_scale_2"],
            w13_bias=np.ascontiguousarray(biases["w13_bias"][:, rows]),
            w2_bias=biases["w2_bias"] if rank == 0 else None)
        y = layer.run(x, weights, ids)
        assert np.array_equal(y, by_rank.run(x, weights, ids)), rank
        total += moe_data.bf16_to_float64(y)
    ref = moe_data.reference_moe({**stacked, **biases}, x, weights, ids)
    err = moe_data.rel_error(total, ref)
    print(f"tiny checkpoint layer {LAYER}, {size} ranks summed: rel error vs NumPy reference {err:.2e}")
    assert err < BOUND
    with pytest.raises(fp4moe.Error, match=r"shard.size: expected a divisor of intermediate 32 leaving each rank a "
                                           r"multiple of 16 \(the NVFP4 block along down's K\), got 4"):
        fp4moe.MoeLayer.from_checkpoint(path, LAYER, 16, tp_size=4, device="cpu")
    with pytest.raises(fp4moe.Error, match=r"shard.rank: expected in \[0, 2\), got 2"):
        fp4moe.load_moe_layers(path, 16, tp_rank=2, tp_size=2, device="cpu")


def test_compressed_tensors_twin_loads(tmp_path, config):
    """The tiny checkpoint under compressed-tensors' NVFP4 names (weight_packed, and the inverses of the scales as
    weight_global_scale / input_global_scale, its recipe in config.json): listed as such, and its layer computes
    what the ModelOpt original does, but for the FP32 rounding of the scales' two inversions."""
    tensors, metadata = tiny_tensors()
    twin = {}
    for name, (dtype, shape, payload) in tensors.items():
        if ".experts." in name and name.endswith((".weight_scale_2", ".input_scale")):
            inverse = (np.float32(1) / np.frombuffer(payload, np.float32)).astype(np.float32)
            suffix = ".weight_global_scale" if name.endswith(".weight_scale_2") else ".input_global_scale"
            name = name.rsplit(".", 1)[0] + suffix
            dtype, shape, payload = "F32", [1], inverse.tobytes()
        elif ".experts." in name and name.endswith(".weight"):
            name += "_packed"
        twin[name] = (dtype, shape, payload)
    recipe = {"quant_method": "compressed-tensors", "format": "nvfp4-pack-quantized",
              "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "float",
                                                                               "group_size": 16}}},
              "ignore": ["lm_head"]}
    path = write_checkpoint(tmp_path / "ct", twin, metadata, {**config, "quantization_config": recipe})
    (path / "hf_quant_config.json").unlink()  # ModelOpt's file: compressed-tensors writes none
    assert [(d["nvfp4"], d["compressed_tensors"], d["has_input_scale"], d["problem"])
            for d in fp4moe.checkpoint_moe_layers(path)] == [(True, True, True, "")]
    x, weights, ids = inputs(config, 12, seed=4)
    for mode in ("w4a16", "w4a4"):
        y = fp4moe.MoeLayer.from_checkpoint(path, LAYER, 16, mode=mode, device="cpu").run(x, weights, ids)
        want = fp4moe.MoeLayer.from_checkpoint(CHECKPOINT, LAYER, 16, mode=mode, device="cpu").run(x, weights, ids)
        a, b = moe_data.bf16_to_float64(y), moe_data.bf16_to_float64(want)
        assert np.linalg.norm(a - b) <= 1e-2 * np.linalg.norm(b), mode


def test_gpt_oss_mxfp4_checkpoint_loads_converted(tmp_path):
    """gpt-oss's own MXFP4 experts (gate_up_proj_blocks/_scales with gate and up rows interleaved, E8M0
    scales; written here), listed as such and loaded converted to NVFP4: within BF16's rounding of the
    layer computed from the MXFP4 values themselves (NumPy, float64), which quantizing the weights again
    would not be. Tensor parallelism's two ranks add up to it too."""
    rng = np.random.default_rng(11)
    e, h, i = 3, 64, 32
    lut = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])

    def mxfp4(rows, k):
        blocks = rng.integers(0, 256, size=(e, rows, k // 32, 16), dtype=np.uint8)
        scales = (127 + rng.integers(-9, -2, size=(e, rows, k // 32))).astype(np.uint8)
        codes = np.stack([blocks & 0xF, blocks >> 4], axis=-1).reshape(e, rows, k)  # low nibble first
        values = lut[codes] * np.exp2(np.repeat(scales.astype(np.float64) - 127, 32, axis=-1))
        return blocks, scales, values

    gu_blocks, gu_scales, gu = mxfp4(2 * i, h)
    d_blocks, d_scales, down = mxfp4(h, i)
    gu_bias = moe_data.to_bf16(rng.uniform(-0.3, 0.3, (e, 2 * i)))
    d_bias = moe_data.to_bf16(rng.uniform(-0.3, 0.3, (e, h)))
    p = "model.layers.0.mlp."
    tensors = {
        p + "router.weight": ("BF16", [e, h], moe_data.to_bf16(rng.standard_normal((e, h)) * 0.3).tobytes()),
        p + "experts.gate_up_proj_blocks": ("U8", list(gu_blocks.shape), gu_blocks.tobytes()),
        p + "experts.gate_up_proj_scales": ("U8", list(gu_scales.shape), gu_scales.tobytes()),
        p + "experts.gate_up_proj_bias": ("BF16", [e, 2 * i], gu_bias.tobytes()),
        p + "experts.down_proj_blocks": ("U8", list(d_blocks.shape), d_blocks.tobytes()),
        p + "experts.down_proj_scales": ("U8", list(d_scales.shape), d_scales.tobytes()),
        p + "experts.down_proj_bias": ("BF16", [e, h], d_bias.tobytes()),
    }
    config = {"model_type": "gpt_oss", "hidden_size": h, "intermediate_size": i, "num_local_experts": e,
              "num_experts_per_tok": 2, "swiglu_limit": 7.0, "num_hidden_layers": 1,
              "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn"]}}
    path = write_checkpoint(tmp_path / "mxfp4", tensors, {"format": "pt"}, config)
    (path / "hf_quant_config.json").unlink()  # the tiny checkpoint's ModelOpt recipe: gpt-oss writes none
    [listed] = fp4moe.checkpoint_moe_layers(path)
    assert (listed["mxfp4"], listed["nvfp4"], listed["has_biases"], listed["problem"]) == (True, False, True, "")

    b13 = moe_data.bf16_to_float64(gu_bias).astype(np.float32)
    experts = {"gate": gu[:, 0::2], "up": gu[:, 1::2], "down": down,
               "w13_bias": np.concatenate([b13[:, 0::2], b13[:, 1::2]], axis=1),
               "w2_bias": moe_data.bf16_to_float64(d_bias).astype(np.float32)}
    x = moe_data.to_bf16(rng.standard_normal((13, h)))
    weights, ids = moe_data.random_routing(rng, 13, e, 2)
    ref = moe_data.reference_moe(experts, x, weights, ids, kind="swiglu_oai")
    y = fp4moe.MoeLayer.from_checkpoint(path, 0, 16, device="cpu").run(x, weights, ids)
    err = moe_data.rel_error(y, ref)
    print(f"gpt-oss MXFP4 loaded as NVFP4: rel error {err:.2e} against the MXFP4 layer")
    assert err < 5e-3
    ranks = sum(moe_data.bf16_to_float64(fp4moe.MoeLayer.from_checkpoint(
        path, 0, 16, tp_rank=r, tp_size=2, device="cpu").run(x, weights, ids)) for r in range(2))
    assert moe_data.rel_error(ranks, ref) < 5e-3


def test_load_moe_layers_shares_one_workspace(tmp_path, config):
    path = write_two_moe_layer_checkpoint(tmp_path / "two")
    assert [d["layer"] for d in fp4moe.checkpoint_moe_layers(path)] == [1, 2]
    layers = fp4moe.load_moe_layers(path, 16, mode="w4a4", device="cpu", cpu_threads=2)
    assert list(layers) == [1, 2]
    ws = layers[1].workspace
    assert isinstance(ws, fp4moe.Workspace) and layers[2].workspace is ws and ws.nbytes == layers[1].workspace_bytes
    x, weights, ids = inputs(config, 13, seed=3)
    outputs = {n: layer.run(x, weights, ids) for n, layer in layers.items()}
    for n, y in outputs.items():
        alone = fp4moe.MoeLayer.from_checkpoint(path, n, 16, mode="w4a4", device="cpu", cpu_threads=2)
        assert np.array_equal(y, alone.run(x, weights, ids)), f"layer {n}"
    assert not np.array_equal(outputs[1], outputs[2])  # layer 2 is not layer 1 again
    # The same sizes and threads: a used workspace does not grow (a CPU layer's need grows with its threads).
    only = fp4moe.load_moe_layers(path, 16, layers=[2], mode="w4a4", device="cpu", cpu_threads=2, workspace=ws)
    assert list(only) == [2] and only[2].workspace is ws


def test_load_moe_layers_rejects_before_returning_anything(tmp_path):
    path = write_two_moe_layer_checkpoint(tmp_path / "two")
    with pytest.raises(fp4moe.Error, match=r"load_moe_layers: layers: expected MoE layers of the checkpoint "
                                           r"\[1, 2\], got 0"):
        fp4moe.load_moe_layers(path, 16, layers=[1, 0], device="cpu")
    corrupt = write_two_moe_layer_checkpoint(tmp_path / "corrupt", scale_byte=0x7F)
    with pytest.raises(fp4moe.Error, match=r"tensor 'model\.layers\.2\.mlp\.experts\.0\.gate_proj\.weight_scale': "
                                           r"expected E4M3 block scales >= 0 and not NaN, got 0x7F at \[0, 0\]"):
        fp4moe.load_moe_layers(corrupt, 16, device="cpu")
