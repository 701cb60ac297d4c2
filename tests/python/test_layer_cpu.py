"""fp4moe.MoeLayer on the CPU backend with NumPy arrays: outputs against the NumPy float64 reference
of moe_data.py (independent of the C++ code) and against fp4moe.reference_forward, the weight
layouts, expert parallelism, and the errors users get for bad input."""

import numpy as np
import pytest

import fp4moe
import moe_data

E, H, I, K, MAX_T = 6, 64, 48, 2, 40
BOUND = 1e-2  # spec section 6: relative Frobenius error of W4A16 and W4A4 against the reference


def make_layer(experts, **options):
    num_experts = options.pop("num_experts", E)
    layer = fp4moe.MoeLayer(num_experts, H, I, K, MAX_T, device="cpu", cpu_threads=2, **options)
    layer.load_weights(*moe_data.load_args(experts))
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


@pytest.mark.skipif(fp4moe.cuda_available(), reason="a CUDA device is visible: the error path cannot be reached")
def test_cuda_layer_without_a_device_says_why():
    with pytest.raises(fp4moe.Error, match="MoeLayer: device: expected"):
        fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cuda")
