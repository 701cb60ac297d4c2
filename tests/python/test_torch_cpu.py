"""fp4moe.torch on the CPU backend: the custom ops' schema and fake kernels (torch.library.opcheck),
shape inference, torch.compile(fullgraph=True), the Fp4MoE module, and weights and biases given as
torch tensors. Skipped, with the reason shown, where torch is not installed."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the fp4moe.torch tests need it")

import fp4moe  # noqa: E402
import fp4moe.torch as fp4moe_torch  # noqa: E402
import moe_data  # noqa: E402

E, H, I, K, MAX_T = 8, 64, 32, 2, 64


@pytest.fixture(scope="module")
def experts():
    return moe_data.random_experts(np.random.default_rng(30), E, H, I)


@pytest.fixture(scope="module")
def module(experts):
    m = fp4moe_torch.Fp4MoE(E, H, I, K, MAX_T, device="cpu")
    # Weights as torch tensors, scales as float8_e4m3fn, as a checkpoint loader hands them over.
    m.load_weights(torch.from_numpy(experts["w13"]), torch.from_numpy(experts["w13_scale"]).view(torch.float8_e4m3fn),
                   torch.from_numpy(experts["w13_scale_2"]), torch.from_numpy(experts["w2"]),
                   torch.from_numpy(experts["w2_scale"]).view(torch.float8_e4m3fn),
                   torch.from_numpy(experts["w2_scale_2"]))
    return m


def routed_inputs(seed, tokens):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(tokens, H, generator=g).to(torch.bfloat16)
    weights, ids = torch.topk(torch.softmax(torch.randn(tokens, E, generator=g), dim=-1), K)
    return x, weights, ids  # ids int64, as torch.topk gives them


def check_against_reference(y, experts, x, weights, ids):
    ref = moe_data.reference_moe(experts, x.view(torch.int16).numpy().view(np.uint16), weights.numpy(),
                                 ids.to(torch.int32).numpy())
    err = moe_data.rel_error(y.view(torch.int16).numpy().view(np.uint16), ref)
    assert err < 1e-2, err
    return err


def test_module_forward_converts_router_outputs(module, experts):
    x, weights, ids = routed_inputs(1, 13)
    y = module(x, weights, ids)
    assert y.dtype == torch.bfloat16 and y.shape == (13, H)
    print(f"eager rel error {check_against_reference(y, experts, x, weights, ids):.2e}")


def test_biases_as_torch_tensors(experts):
    """w13_bias / w2_bias as torch tensors (float32, bfloat16, float16, as a checkpoint loader hands them
    over): converted exactly, the output of their values given as float32 NumPy arrays, and near the
    NumPy reference with those biases; float64 is rejected."""
    biases = moe_data.random_biases(np.random.default_rng(31), E, H, I)
    x, weights, ids = routed_inputs(9, 11)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        tensors = {k: torch.from_numpy(v).to(dtype) for k, v in biases.items()}
        values = {k: t.float().numpy() for k, t in tensors.items()}
        m = fp4moe_torch.Fp4MoE(E, H, I, K, MAX_T, device="cpu")
        m.load_weights(*moe_data.load_args(experts), **tensors)
        numpy_layer = fp4moe.MoeLayer(E, H, I, K, MAX_T, device="cpu")
        numpy_layer.load_weights(*moe_data.load_args(experts), **values)
        y = m(x, weights, ids)
        assert torch.equal(y, numpy_layer.run(x, weights, ids.to(torch.int32))), dtype
        print(f"{dtype} biases: rel error {check_against_reference(y, dict(experts, **values), x, weights, ids):.2e}")
    with pytest.raises(fp4moe.Error, match="w2_bias: expected float32, bfloat16 or float16 elements, got float64"):
        m.load_weights(*moe_data.load_args(experts), w2_bias=torch.zeros(E, H, dtype=torch.float64))


def test_opcheck(module):
    x, weights, ids = routed_inputs(2, 7)
    ids = ids.to(torch.int32)
    torch.library.opcheck(torch.ops.fp4moe.moe_forward.default, (x, weights, ids, module.layer_handle))
    out = torch.empty_like(x)
    torch.library.opcheck(torch.ops.fp4moe.moe_forward_out.default, (x, weights, ids, out, module.layer_handle))


def test_fake_kernel_infers_shapes_symbolically(module):
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        x = torch.empty(5, H, dtype=torch.bfloat16)
        y = torch.ops.fp4moe.moe_forward(x, torch.empty(5, K), torch.empty(5, K, dtype=torch.int32),
                                         module.layer_handle)
        assert y.shape == (5, H) and y.dtype == torch.bfloat16


def test_compile_fullgraph_matches_eager(module, experts):
    compiled = torch.compile(module, fullgraph=True, dynamic=True)
    for seed, tokens in ((3, 9), (4, 31), (5, 1)):
        x, weights, ids = routed_inputs(seed, tokens)
        y = compiled(x, weights, ids)
        assert torch.equal(y, module(x, weights, ids))
        check_against_reference(y, experts, x, weights, ids)


def test_out_variant_writes_the_given_tensor(module):
    x, weights, ids = routed_inputs(6, 4)
    out = torch.full((4, H), float("nan"), dtype=torch.bfloat16)
    torch.ops.fp4moe.moe_forward_out(x, weights, ids.to(torch.int32), out, module.layer_handle)
    assert torch.equal(out, module(x, weights, ids))


def test_layer_run_accepts_cpu_tensors(module):
    x, weights, ids = routed_inputs(7, 6)
    y = module.layer.run(x, weights, ids.to(torch.int32))
    assert isinstance(y, torch.Tensor) and torch.equal(y, module(x, weights, ids))


def test_op_errors(module):
    x, weights, ids = routed_inputs(8, 3)
    with pytest.raises(fp4moe.Error, match="layer_handle: expected a handle"):
        torch.ops.fp4moe.moe_forward(x, weights, ids.to(torch.int32), 987654)
    with pytest.raises(fp4moe.Error, match="topk_ids: expected int32"):
        module.layer.run(x, weights, ids)
    with pytest.raises(fp4moe.Error, match="hidden_states: expected bfloat16"):
        module.layer.run(x.to(torch.float16), weights, ids.to(torch.int32))


def test_unregistered_after_module_is_freed(experts):
    m = fp4moe_torch.Fp4MoE(E, H, I, K, MAX_T, device="cpu")
    handle = m.layer_handle
    assert fp4moe_torch.get_layer(handle) is m.layer
    del m
    import gc
    gc.collect()
    with pytest.raises(fp4moe.Error, match="unknown or unregistered"):
        fp4moe_torch.get_layer(handle)


def test_modules_sharing_a_workspace_under_compile(module, experts):
    """Two Fp4MoE blocks on one fp4moe.Workspace (workspace= passes through to MoeLayer), chained and
    compiled: bit for bit the module with a workspace of its own, applied twice."""
    ws = fp4moe.Workspace(device="cpu")
    blocks = [fp4moe_torch.Fp4MoE(E, H, I, K, MAX_T, device="cpu", workspace=ws) for _ in range(2)]
    for block in blocks:
        block.load_weights(*moe_data.load_args(experts))
    assert blocks[0].layer.workspace is ws and ws.nbytes == blocks[0].layer.workspace_bytes

    def chain(x, weights, ids):
        return blocks[1](blocks[0](x, weights, ids), weights, ids)

    x, weights, ids = routed_inputs(7, 21)
    y = torch.compile(chain, fullgraph=True)(x, weights, ids)
    assert torch.equal(y.view(torch.int16), module(module(x, weights, ids), weights, ids).view(torch.int16))
    assert ws.used
