"""Shared by the Python tests: random NVFP4 experts in the stacked ModelOpt layout, random routing,
and NumPy codecs written from the numerics contract (spec sections 1-2), independent of the C++
code under test. Needs only NumPy (the GPU machine has no ml_dtypes): BF16 travels as uint16 bits."""

import numpy as np

E2M1_VALUES = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=np.float64)


def _e4m3_values():
    """All 256 E4M3 (FN) codes as float64: bias 7, subnormal step 2^-9, S.1111.111 is NaN."""
    codes = np.arange(256)
    exp, man = (codes >> 3) & 0xF, codes & 7
    mag = np.where(exp == 0, man * 2.0 ** -9, (1 + man / 8) * 2.0 ** (exp - 7))
    mag[(exp == 15) & (man == 7)] = np.nan
    return np.where(codes & 0x80, -mag, mag)


E4M3_VALUES = _e4m3_values()


def _round_to_grid(x, grid):
    """Index of the nearest grid value (ascending magnitudes), ties to the even index, saturating."""
    dist = np.abs(np.asarray(x, dtype=np.float64)[..., None] - grid)
    nearest = dist == dist.min(axis=-1, keepdims=True)
    even = nearest & (np.arange(grid.size) % 2 == 0)
    return np.where(even.any(axis=-1), even.argmax(axis=-1), nearest.argmax(axis=-1))


# ---- decoding ----

def e4m3_to_float(codes):
    return E4M3_VALUES[np.asarray(codes, dtype=np.uint8)]


def unpack_e2m1(packed):
    """uint8 [..., n/2] -> float64 [..., n]: element 2i in the low nibble, 2i+1 in the high one."""
    packed = np.asarray(packed, dtype=np.uint8)
    out = np.empty(packed.shape[:-1] + (packed.shape[-1] * 2,), dtype=np.float64)
    out[..., 0::2] = E2M1_VALUES[packed & 0xF]
    out[..., 1::2] = E2M1_VALUES[packed >> 4]
    return out


def dequantize(packed, scales_linear, scale_mult):
    """e2m1(q) * e4m3(s) * scale_mult for one [rows, K] matrix with linear scales [rows, K/16]."""
    values = unpack_e2m1(packed)
    return values * np.repeat(e4m3_to_float(scales_linear), 16, axis=-1) * scale_mult


def to_bf16(x):
    """float values -> BF16 bits (uint16), round to nearest even (finite inputs)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_float64(x):
    """BF16 values (uint16 bits, or ml_dtypes.bfloat16) as float64."""
    bits = np.asarray(x).view(np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


# ---- quantization (spec section 2, float32 arithmetic in the contract's order) ----

def e2m1_round(x):
    """Round-to-nearest-even onto the E2M1 codes, saturating at +-6; returns the 4-bit codes."""
    x = np.asarray(x, dtype=np.float64)
    return (_round_to_grid(np.abs(x), E2M1_VALUES[:8]) | np.where(np.signbit(x), 8, 0)).astype(np.uint8)


def e4m3_round(x):
    """Round-to-nearest-even of non-negative values onto E4M3 codes 0..126, saturating at 448."""
    return _round_to_grid(x, E4M3_VALUES[:127]).astype(np.uint8)


def quantize(x, global_scale):
    """x float32 [rows, K] -> (packed uint8 [rows, K/2], linear scales uint8 [rows, K/16])."""
    x = np.asarray(x, dtype=np.float32)
    gs = np.float32(global_scale)
    blocks = x.reshape(x.shape[0], -1, 16)
    vmax = np.abs(blocks).max(axis=-1)
    scales = e4m3_round((gs * vmax) / np.float32(6))
    s = e4m3_to_float(scales).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(s == 0, np.float32(0), gs / s).astype(np.float32)
    codes = e2m1_round((blocks * inv[..., None]).astype(np.float32)).reshape(x.shape)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return packed, scales


def swizzled_offset(m, kb, padded_cols):
    """Byte offset of scale (m, kb) in the 128x4 swizzled layout (spec section 3)."""
    tile = (m // 128) * (padded_cols // 4) + kb // 4
    return tile * 512 + (m % 32) * 16 + ((m // 32) % 4) * 4 + (kb % 4)


def swizzle(linear):
    rows, cols = linear.shape
    pr, pc = -(-rows // 128) * 128, -(-cols // 4) * 4
    out = np.zeros(pr * pc, dtype=np.uint8)
    m, kb = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    out[swizzled_offset(m, kb, pc)] = linear
    return out.reshape(pr, pc)


# ---- random layers ----

def random_scale_codes(rng, shape):
    """E4M3 codes between 2^-3 and 2^3 (no NaN, realistic block scales)."""
    return rng.integers(0x20, 0x50, size=shape, dtype=np.uint8)


def random_experts(rng, num_experts, hidden, intermediate, distinct_gate_up=True):
    """Stacked ModelOpt-style tensors with random codes and scales, and their float64 dequantized
    weights. scale_2 is chosen so that GEMM outputs stay O(1)."""
    e, h, i = num_experts, hidden, intermediate
    w13 = rng.integers(0, 256, size=(e, 2 * i, h // 2), dtype=np.uint8)
    w13_scale = random_scale_codes(rng, (e, 2 * i, h // 16))
    w2 = rng.integers(0, 256, size=(e, h, i // 2), dtype=np.uint8)
    w2_scale = random_scale_codes(rng, (e, h, i // 16))
    scale_2 = rng.uniform(0.5, 2.0, size=(e, 2)).astype(np.float32) / np.float32(4 * np.sqrt(h))
    if not distinct_gate_up:
        scale_2[:, 1] = scale_2[:, 0]
    w2_scale_2 = (rng.uniform(0.5, 2.0, size=e) / (4 * np.sqrt(i))).astype(np.float32)
    gate = np.stack([dequantize(w13[x, :i], w13_scale[x, :i], scale_2[x, 0]) for x in range(e)])
    up = np.stack([dequantize(w13[x, i:], w13_scale[x, i:], scale_2[x, 1]) for x in range(e)])
    down = np.stack([dequantize(w2[x], w2_scale[x], w2_scale_2[x]) for x in range(e)])
    return {
        "w13": w13, "w13_scale": w13_scale, "w13_scale_2": scale_2, "w2": w2, "w2_scale": w2_scale,
        "w2_scale_2": w2_scale_2, "gate": gate, "up": up, "down": down,
    }


def random_biases(rng, num_experts, hidden, intermediate):
    """Expert biases as gpt-oss has them, float32: w13_bias [E, 2I] (gate then up) and w2_bias [E, H], of
    the size of the GEMM outputs of random_experts(), so that they change the output far beyond the
    error bound."""
    return {"w13_bias": rng.standard_normal((num_experts, 2 * intermediate)).astype(np.float32),
            "w2_bias": (4 * rng.standard_normal((num_experts, hidden))).astype(np.float32)}


def load_args(experts):
    """The positional arguments of MoeLayer.load_weights."""
    return (experts["w13"], experts["w13_scale"], experts["w13_scale_2"], experts["w2"], experts["w2_scale"],
            experts["w2_scale_2"])


def bias_kwargs(experts):
    """The bias keyword arguments of MoeLayer.load_weights for the biases `experts` holds (none: {})."""
    return {k: experts[k] for k in ("w13_bias", "w2_bias") if k in experts}


def random_routing(rng, tokens, num_experts, top_k, id_range=None):
    """hidden_states bf16 [T, H] is made by the caller; returns topk_weights float32 [T, k] and
    distinct topk_ids int32 [T, k] drawn from id_range (default [0, num_experts))."""
    lo, hi = id_range if id_range is not None else (0, num_experts)
    ids = np.array([rng.choice(np.arange(lo, hi), size=top_k, replace=False) for _ in range(tokens)]).reshape(-1, top_k)
    weights = rng.uniform(0.1, 1.0, size=(tokens, top_k)).astype(np.float32)
    return weights.reshape(tokens, top_k), ids.astype(np.int32).reshape(tokens, top_k)


# ---- the MoE layer (spec section 4), in float64 ----

def activation(kind, gate, up, limit=7.0, alpha=1.702):
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    if kind == "silu":
        return gate * sig(gate) * up
    if kind == "silu_clamped":
        return np.minimum(gate * sig(gate), limit) * np.clip(up, -limit, limit)
    if kind == "swiglu_oai":
        g = np.minimum(gate, limit)
        return g * sig(alpha * g) * (np.clip(up, -limit, limit) + 1)
    if kind == "gelu_tanh":
        return 0.5 * gate * (1 + np.tanh(np.sqrt(2 / np.pi) * (gate + 0.044715 * gate ** 3))) * up
    raise ValueError(kind)


def fake_quantize(x, input_scale):
    """x through NVFP4 with global scale 1 / input_scale and back (mode W4A4, calibrated)."""
    gs = np.float32(1) / np.float32(input_scale)
    packed, scales = quantize(np.asarray(x, dtype=np.float32), gs)
    return dequantize(packed, scales, 1.0 / np.float64(gs))


def reference_moe(experts, x, topk_weights, topk_ids, kind="silu", limit=7.0, alpha=1.702, local_start=0,
                  mode="w4a16", a13_scale=None, a2_scale=None):
    """y [T, H] float64 from the dequantized weights of random_experts(); W4A4 with calibrated scales.
    The biases `experts` holds (w13_bias [E, 2I], w2_bias [E, H]; absent: zero) are added to the GEMM
    outputs: y_pair = W2 act(W13 x + b13) + b2, weighted by the pair's top-k weight."""
    x = bf16_to_float64(x)
    if mode == "w4a4":
        x = fake_quantize(x, a13_scale)
    num_local, inter = experts["gate"].shape[:2]
    b13 = experts.get("w13_bias", np.zeros((num_local, 2 * inter), np.float32)).astype(np.float64)
    b2 = experts.get("w2_bias", np.zeros((num_local, x.shape[1]), np.float32)).astype(np.float64)
    y = np.zeros(x.shape, dtype=np.float64)
    for e in range(num_local):
        tokens, slots = np.nonzero(topk_ids == local_start + e)
        if tokens.size == 0:
            continue
        xe = x[tokens]
        gate = xe @ experts["gate"][e].T + b13[e, :inter]
        up = xe @ experts["up"][e].T + b13[e, inter:]
        act = activation(kind, gate, up, limit, alpha).astype(np.float32)
        act = fake_quantize(act, a2_scale) if mode == "w4a4" else bf16_to_float64(to_bf16(act))
        y[tokens] += topk_weights[tokens, slots][:, None].astype(np.float64) * (act @ experts["down"][e].T + b2[e])
    return y


def rel_error(y, ref):
    """||y - ref|| / ||ref||; y as BF16 (bits or ml_dtypes) or float64."""
    y = bf16_to_float64(y) if np.asarray(y).dtype != np.float64 else y
    return float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
