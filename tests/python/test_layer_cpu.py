"""fp4moe.MoeLayer on the CPU backend with NumPy arrays: outputs against the NumPy float64 reference
of moe_data.py (independent of the C++ code) and against fp4moe.reference_forward, the weight
layouts, expert parallelism, expert biases, and the errors users get for bad input."""

import numpy as np
import pytest

import fp4moe
import moe_data

E, H, I, K, MAX_T = 6, 64, 48, 2, 40
BOUND = 1e-2  # spec section 6: relative Frobenius error of W4A16 and W4A4 against the reference


def make_layer(experts, **options):
    num_experts = options.pop("num_experts", E)
    layer = fp4moe.MoeLayer(num_experts, H, I, K, MAX_T, device="cpu", cpu_threads=2, **options)
    layer.load_weights(*moe_data.load_args(experts), **moe_data.bias_kwargs(experts))
    return layer


def random_inputs(rng, tokens, **routing):
    x = moe_data.to_bf16(rng.standard_normal((tokens, H)))
    weights, ids = moe_data.random_routing(rng, tokens, routing.pop("num_experts", E), K, **routing)
    return x, weights, ids


@pytest.fixture(scope="module")
def experts():
    return moe_data.random_experts(np.random.default_rng(10), E, H, I)


@pytest.mark.parametrize("activation", ["silu", "silu_clamped", "swiglu_oai", "gelu_tanh"])
def test_w4a16_matches_both_references(experts, activation):
    rng = np.random.default_rng(11)
    # A small limit makes the clamps of silu_clamped / swiglu_oai bind on many elements.
    limit = 0.75
    layer = make_layer(experts, activation=activation, swiglu_limit=limit)
    assert layer.activation == activation and layer.swiglu_limit == pytest.approx(limit)
    x, weights, ids = random_inputs(rng, 33)
    y = layer.run(x, weights, ids)
    assert y.dtype == np.uint16 and y.shape == (33, H)  # BF16 bits in, BF16 bits out
    ref = moe_data.reference_moe(experts, x, weights, ids, kind=activation, limit=limit)
    err_numpy = moe_data.rel_error(y, ref)
    err_cpp = moe_data.rel_error(y, fp4moe.reference_forward(layer, x, weights, ids))
    print(f"{activation}: rel error vs NumPy reference {err_numpy:.2e}, vs C++ reference {err_cpp:.2e}")
    assert err_numpy < BOUND and err_cpp < BOUND


def test_swiglu_limit_changes_the_result(experts):
    rng = np.random.default_rng(12)
    x, weights, ids = random_inputs(rng, 8)
    loose = make_layer(experts, activation="swiglu_oai").run(x, weights, ids)
    tight = make_layer(experts, activation="swiglu_oai", swiglu_limit=0.25).run(x, weights, ids)
    assert not np.array_equal(loose.view(np.uint16), tight.view(np.uint16))


def test_every_output_element_is_written(experts):
    rng = np.random.default_rng(13)
    layer = make_layer(experts)
    x, weights, ids = random_inputs(rng, 17)
    ids[3, :] = -1  # a dropped token must still get its (zero) row written
    out = np.full((17, H), 0xFFFF, dtype=np.uint16)  # NaN bits
    assert layer.run(x, weights, ids, out=out) is out
    values = moe_data.bf16_to_float64(out)
    assert np.all(np.isfinite(values))
    assert np.all(values[3] == 0)


def test_ml_dtypes_arrays_give_identical_output(experts):
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed")
    rng = np.random.default_rng(14)
    x, weights, ids = random_inputs(rng, 9)
    want = make_layer(experts).run(x, weights, ids)
    as_fp8 = dict(experts)
    as_fp8["w13_scale"] = experts["w13_scale"].view(ml_dtypes.float8_e4m3fn)
    as_fp8["w2_scale"] = experts["w2_scale"].view(ml_dtypes.float8_e4m3fn)
    y = make_layer(as_fp8).run(x.view(ml_dtypes.bfloat16), weights, ids)
    assert y.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(y.view(np.uint16), want)


def test_swizzled_scales_load_the_same_weights(experts):
    rng = np.random.default_rng(15)
    x, weights, ids = random_inputs(rng, 12)
    want = make_layer(experts).run(x, weights, ids)
    swizzled = dict(experts)
    swizzled["w13_scale"] = np.stack([fp4moe.swizzle_scales(s) for s in experts["w13_scale"]])
    swizzled["w2_scale"] = np.stack([fp4moe.swizzle_scales(s) for s in experts["w2_scale"]])
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cpu")
    layer.load_weights(*moe_data.load_args(swizzled), scale_layout="swizzled")
    np.testing.assert_array_equal(layer.run(x, weights, ids), want)


def test_shared_w13_scale_2_as_one_column():
    rng = np.random.default_rng(16)
    shared = moe_data.random_experts(rng, E, H, I, distinct_gate_up=False)
    x, weights, ids = random_inputs(rng, 10)
    want = make_layer(shared).run(x, weights, ids)
    one_column = dict(shared, w13_scale_2=shared["w13_scale_2"][:, 0].copy())
    np.testing.assert_array_equal(make_layer(one_column).run(x, weights, ids).view(np.uint16), want.view(np.uint16))


def test_expert_parallel_range_and_dropped_ids(experts):
    rng = np.random.default_rng(17)
    # 3 of 10 experts live here (ids 4..6); other ids and -1 contribute nothing.
    local = {k: v[:3] for k, v in experts.items()}
    layer = make_layer(local, num_experts=10, local_expert_start=4, local_experts=3)
    assert layer.num_local_experts == 3 and layer.local_expert_start == 4
    x, weights, ids = random_inputs(rng, 25, num_experts=10)
    ids[0, 0] = -1
    y = layer.run(x, weights, ids)
    ref = moe_data.reference_moe(local, x, weights, ids, local_start=4)
    assert np.count_nonzero(np.any((ids >= 4) & (ids < 7), axis=1)) > 5
    err = moe_data.rel_error(y, ref)
    print(f"expert-parallel rel error {err:.2e}")
    assert err < BOUND


def test_w4a4_calibrated_matches_numpy_reference(experts):
    rng = np.random.default_rng(18)
    x, weights, ids = random_inputs(rng, 21)
    a13 = np.float32(np.abs(moe_data.bf16_to_float64(x)).max() / 2688 * 1.1)
    a2 = np.float32(0.02)
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, mode="w4a4", device="cpu")
    layer.load_weights(*moe_data.load_args(experts), a13_scale=np.full(E, a13), a2_scale=a2)
    y = layer.run(x, weights, ids)
    ref = moe_data.reference_moe(experts, x, weights, ids, mode="w4a4", a13_scale=a13, a2_scale=a2)
    err = moe_data.rel_error(y, ref)
    err_cpp = moe_data.rel_error(y, fp4moe.reference_forward(layer, x, weights, ids))
    w4a16_err = moe_data.rel_error(y, moe_data.reference_moe(experts, x, weights, ids))
    print(f"W4A4 calibrated: vs NumPy {err:.2e}, vs C++ {err_cpp:.2e}, vs W4A16 reference {w4a16_err:.2e}")
    assert err < BOUND and err_cpp < BOUND
    assert w4a16_err > BOUND  # activations really were quantized


def test_w4a4_dynamic_matches_cpp_reference(experts):
    rng = np.random.default_rng(19)
    x, weights, ids = random_inputs(rng, 30)
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, mode="w4a4", device="cpu")
    layer.load_weights(*moe_data.load_args(experts))
    err = moe_data.rel_error(layer.run(x, weights, ids), fp4moe.reference_forward(layer, x, weights, ids))
    print(f"W4A4 dynamic rel error vs C++ reference {err:.2e}")
    assert err < BOUND


def test_batch_sizes_zero_and_max_tokens(experts):
    rng = np.random.default_rng(20)
    layer = make_layer(experts)
    assert layer.workspace_bytes > 0
    x, weights, ids = random_inputs(rng, 0)
    assert layer.run(x, weights, ids).shape == (0, H)
    x, weights, ids = random_inputs(rng, MAX_T)
    assert moe_data.rel_error(layer.run(x, weights, ids), moe_data.reference_moe(experts, x, weights, ids)) < BOUND
    x, weights, ids = random_inputs(rng, MAX_T + 1)
    with pytest.raises(fp4moe.Error, match="hidden_states: expected at most max_tokens=40"):
        layer.run(x, weights, ids)


def test_run_errors_name_the_argument(experts):
    rng = np.random.default_rng(21)
    layer = make_layer(experts)
    x, weights, ids = random_inputs(rng, 4)
    cases = {
        "topk_ids: expected int32 elements \\(convert int64": (x, weights, ids.astype(np.int64)),
        "topk_weights: expected float32": (x, weights.astype(np.float64), ids),
        "hidden_states: expected bfloat16": (x.astype(np.float32), weights, ids),
        "hidden_states: expected shape \\[\\*, 64\\]": (moe_data.to_bf16(np.ones((4, 32))), weights, ids),
        "topk_ids: expected shape \\[4, 2\\]": (x, weights, ids[:, :1].copy()),
        "hidden_states: expected a C-contiguous": (moe_data.to_bf16(np.ones((4, 2 * H)))[:, ::2], weights, ids),
    }
    for message, args in cases.items():
        with pytest.raises(fp4moe.Error, match=message):
            layer.run(*args)
    with pytest.raises(fp4moe.Error, match="out: expected shape \\[4, 64\\]"):
        layer.run(x, weights, ids, out=np.empty((5, H), dtype=np.uint16))


def test_layer_and_weight_errors(experts):
    assert issubclass(fp4moe.Error, ValueError)
    with pytest.raises(fp4moe.Error, match="MoeConfig: hidden: expected a positive multiple of 16, got 100"):
        fp4moe.MoeLayer(E, 100, I, K, MAX_T, device="cpu")
    with pytest.raises(fp4moe.Error, match="MoeLayer: activation: expected one of silu, .*got 'relu'"):
        fp4moe.MoeLayer(E, H, I, K, MAX_T, activation="relu", device="cpu")
    with pytest.raises(fp4moe.Error, match="MoeLayer: mode: expected one of w4a16, w4a4, got 'w4a8'"):
        fp4moe.MoeLayer(E, H, I, K, MAX_T, mode="w4a8", device="cpu")
    with pytest.raises(fp4moe.Error, match="device: expected"):
        fp4moe.MoeLayer(E, H, I, K, MAX_T, device="tpu")
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cpu")
    x, weights, ids = random_inputs(np.random.default_rng(22), 3)
    with pytest.raises(fp4moe.Error, match="weights: expected load_weights\\(\\) to have been called"):
        layer.run(x, weights, ids)
    args = list(moe_data.load_args(experts))
    bad = {
        0: (experts["w13"][:, :, :-1].copy(), "w13: expected shape \\[6, 96, 32\\]"),
        1: (experts["w13_scale"].astype(np.float32), "w13_scale: expected uint8"),
        2: (np.ones((E, 3), np.float32), "w13_scale_2: expected shape \\[6\\]"),
        5: (np.ones(E + 1, np.float32), "w2_scale_2: expected shape \\[6\\]"),
    }
    for index, (value, message) in bad.items():
        with pytest.raises(fp4moe.Error, match=message):
            layer.load_weights(*args[:index], value, *args[index + 1:])
    with pytest.raises(fp4moe.Error, match="scale_layout"):
        layer.load_weights(*args, scale_layout="blocked")
    with pytest.raises(fp4moe.Error, match="scale_2"):
        layer.load_weights(*args[:5], np.full(E, -1.0, np.float32))
    with pytest.raises(fp4moe.Error, match="reference_forward: layer"):
        fp4moe.reference_forward("not a layer", x, weights, ids)


# ---- expert biases (gpt-oss): y_pair = W2 act(W13 x + b13) + b2 ----

@pytest.fixture(scope="module")
def biased(experts):
    return dict(experts, **moe_data.random_biases(np.random.default_rng(23), E, H, I))


@pytest.mark.parametrize("activation,mode", [("silu", "w4a16"), ("swiglu_oai", "w4a16"), ("swiglu_oai", "w4a4")])
def test_biases_match_both_references(experts, biased, activation, mode):
    """w13_bias and w2_bias against the NumPy reference with the same biases and against the C++
    reference; the biases move the output far beyond the bound (they really were added)."""
    rng = np.random.default_rng(24)
    x, weights, ids = random_inputs(rng, 29)
    scales = {}
    if mode == "w4a4":  # calibrated, so that the NumPy reference quantizes as the layer does
        scales = {"a13_scale": np.float32(np.abs(moe_data.bf16_to_float64(x)).max() / 2688 * 1.1),
                  "a2_scale": np.float32(0.03)}
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, activation=activation, mode=mode, device="cpu", cpu_threads=2)
    layer.load_weights(*moe_data.load_args(biased), **scales, **moe_data.bias_kwargs(biased))
    y = layer.run(x, weights, ids)
    ref = moe_data.reference_moe(biased, x, weights, ids, kind=activation, mode=mode, **scales)
    err = moe_data.rel_error(y, ref)
    err_cpp = moe_data.rel_error(y, fp4moe.reference_forward(layer, x, weights, ids))
    unbiased = moe_data.rel_error(y, moe_data.reference_moe(experts, x, weights, ids, kind=activation, mode=mode,
                                                            **scales))
    print(f"biases {activation} {mode}: rel error vs NumPy {err:.2e}, vs C++ {err_cpp:.2e}, "
          f"vs the reference without biases {unbiased:.2e}")
    assert err < BOUND and err_cpp < BOUND
    assert unbiased > 10 * BOUND


@pytest.mark.parametrize("which", ["w13_bias", "w2_bias"])
def test_one_bias_alone(experts, biased, which):
    rng = np.random.default_rng(25)
    x, weights, ids = random_inputs(rng, 19)
    only = dict(experts, **{which: biased[which]})
    y = make_layer(only).run(x, weights, ids)
    err = moe_data.rel_error(y, moe_data.reference_moe(only, x, weights, ids))
    unbiased = moe_data.rel_error(y, moe_data.reference_moe(experts, x, weights, ids))
    print(f"{which} alone: rel error {err:.2e}, vs the reference without biases {unbiased:.2e}")
    assert err < BOUND and unbiased > 10 * BOUND


def test_biases_with_expert_parallelism(biased):
    """The local experts' rows of the stacked biases: [E_local, 2I] and [E_local, H]."""
    rng = np.random.default_rng(26)
    local = {k: v[2:5] for k, v in biased.items()}
    layer = make_layer(local, num_experts=9, local_expert_start=2, local_experts=3)
    x, weights, ids = random_inputs(rng, 25, num_experts=9)
    err = moe_data.rel_error(layer.run(x, weights, ids), moe_data.reference_moe(local, x, weights, ids, local_start=2))
    print(f"expert-parallel biases: rel error {err:.2e}")
    assert err < BOUND


def test_float16_biases_and_zero_biases(experts, biased):
    """float16 biases are converted exactly (the output of their values given as float32); zero biases give
    the output of none; swizzled scales take biases as linear ones do."""
    rng = np.random.default_rng(27)
    x, weights, ids = random_inputs(rng, 15)
    half = {k: biased[k].astype(np.float16) for k in ("w13_bias", "w2_bias")}
    want = make_layer(dict(experts, **{k: v.astype(np.float32) for k, v in half.items()})).run(x, weights, ids)
    np.testing.assert_array_equal(make_layer(dict(experts, **half)).run(x, weights, ids), want)

    zeros = {"w13_bias": np.zeros((E, 2 * I), np.float32), "w2_bias": np.zeros((E, H), np.float32)}
    np.testing.assert_array_equal(moe_data.bf16_to_float64(make_layer(dict(experts, **zeros)).run(x, weights, ids)),
                                  moe_data.bf16_to_float64(make_layer(experts).run(x, weights, ids)))

    swizzled = dict(biased)
    swizzled["w13_scale"] = np.stack([fp4moe.swizzle_scales(s) for s in biased["w13_scale"]])
    swizzled["w2_scale"] = np.stack([fp4moe.swizzle_scales(s) for s in biased["w2_scale"]])
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cpu")
    layer.load_weights(*moe_data.load_args(swizzled), scale_layout="swizzled", **moe_data.bias_kwargs(biased))
    np.testing.assert_array_equal(layer.run(x, weights, ids), make_layer(biased).run(x, weights, ids))


def test_bfloat16_biases_convert_exactly(experts, biased):
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed")
    rng = np.random.default_rng(28)
    x, weights, ids = random_inputs(rng, 11)
    bf16 = {k: biased[k].astype(ml_dtypes.bfloat16) for k in ("w13_bias", "w2_bias")}
    want = make_layer(dict(experts, **{k: v.astype(np.float32) for k, v in bf16.items()})).run(x, weights, ids)
    np.testing.assert_array_equal(make_layer(dict(experts, **bf16)).run(x, weights, ids), want)


def test_loading_again_without_biases_drops_them(experts, biased):
    rng = np.random.default_rng(29)
    x, weights, ids = random_inputs(rng, 13)
    layer = make_layer(biased)
    with_biases = layer.run(x, weights, ids)
    layer.load_weights(*moe_data.load_args(experts))
    np.testing.assert_array_equal(layer.run(x, weights, ids), make_layer(experts).run(x, weights, ids))
    layer.load_weights(*moe_data.load_args(biased), **moe_data.bias_kwargs(biased))
    np.testing.assert_array_equal(layer.run(x, weights, ids), with_biases)


def test_bias_errors_name_the_argument(biased):
    layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cpu")
    args = moe_data.load_args(biased)
    b13, b2 = biased["w13_bias"], biased["w2_bias"]
    nan13, inf2 = b13.copy(), b2.copy()
    nan13[4, 50] = np.nan
    inf2[1, 3] = -np.inf
    dtypes = "expected float32, bfloat16 or float16 elements, got"
    cases = {
        r"w13_bias: expected shape \[6, 96\], got \[6, 48\]": {"w13_bias": b13[:, :I].copy()},
        r"w13_bias: expected shape \[6, 96\], got \[576\]": {"w13_bias": b13.reshape(-1)},
        r"w2_bias: expected shape \[6, 64\], got \[64\]": {"w2_bias": b2[0].copy()},
        f"w2_bias: {dtypes} float64": {"w2_bias": b2.astype(np.float64)},
        f"w13_bias: {dtypes} int32": {"w13_bias": np.zeros((E, 2 * I), np.int32)},
        f"w13_bias: {dtypes} uint16": {"w13_bias": moe_data.to_bf16(b13)},  # bf16 bits are not bias values
        r"w13_bias: expected finite values, got -?nan at \[4, 50\]": {"w13_bias": nan13},
        r"w2_bias: expected finite values, got -inf at \[1, 3\]": {"w13_bias": b13, "w2_bias": inf2},
    }
    for message, kwargs in cases.items():
        with pytest.raises(fp4moe.Error, match="fp4moe: MoeLayer.load_weights: " + message):
            layer.load_weights(*args, **kwargs)
    with pytest.raises(TypeError):
        layer.load_weights(*args, None, None, "linear", b13)  # the biases are keyword-only


@pytest.mark.skipif(fp4moe.cuda_available(), reason="a CUDA device is visible: the error path cannot be reached")
def test_cuda_layer_without_a_device_says_why():
    with pytest.raises(fp4moe.Error, match="MoeLayer: device: expected"):
        fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cuda")
