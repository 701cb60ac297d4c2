"""fp4moe.Workspace on the CPU backend: layers of different shapes sharing one give, bit for bit,
the outputs of layers with workspaces of their own, in any order of forwards; the workspace grows
to the largest layer while none has run, and refuses to grow after; bad arguments are named."""

import numpy as np
import pytest

import fp4moe
import moe_data

H, MAX_T = 64, 40
SHAPES = {"a": (6, 48, 2), "b": (5, 96, 3)}  # (experts, intermediate, top_k), one hidden size


@pytest.fixture(scope="module")
def experts():
    rng = np.random.default_rng(70)
    return {name: moe_data.random_experts(rng, e, H, i) for name, (e, i, _) in SHAPES.items()}


def make_layer(experts, name, max_tokens=MAX_T, **options):
    e, i, k = SHAPES[name]
    layer = fp4moe.MoeLayer(e, H, i, k, max_tokens, device="cpu", cpu_threads=2, **options)
    layer.load_weights(*moe_data.load_args(experts[name]))
    return layer


def routed(rng, name, tokens):
    e, _, k = SHAPES[name]
    weights, ids = moe_data.random_routing(rng, tokens, e, k)
    return weights, ids


def test_shared_layers_match_layers_with_their_own(experts):
    rng = np.random.default_rng(71)
    ws = fp4moe.Workspace(device="cpu")
    assert ws.nbytes == 0 and not ws.used and ws.device == "cpu"
    shared = {name: make_layer(experts, name, workspace=ws) for name in SHAPES}
    own = {name: make_layer(experts, name) for name in SHAPES}
    assert shared["a"].workspace is ws and own["a"].workspace is None
    assert ws.nbytes == max(layer.workspace_bytes for layer in shared.values()) > 0
    assert shared["a"].workspace_bytes != shared["b"].workspace_bytes  # each writes its own layout over the other's
    x = moe_data.to_bf16(rng.standard_normal((33, H)))
    for name in ("a", "b", "a", "b", "b", "a"):  # consecutive layers, and one layer twice in a row
        tokens = int(rng.integers(1, MAX_T + 1))
        x = x[:tokens] if tokens <= len(x) else moe_data.to_bf16(rng.standard_normal((tokens, H)))
        weights, ids = routed(rng, name, tokens)
        got = shared[name].run(x, weights, ids)
        want = own[name].run(x, weights, ids)
        assert np.array_equal(got, want), f"layer {name}, {tokens} tokens"
        x = got
    assert ws.used


def test_workspace_grows_only_before_the_first_forward(experts):
    rng = np.random.default_rng(72)
    ws = fp4moe.Workspace(device="cpu")
    small = make_layer(experts, "a", max_tokens=8, workspace=ws)
    grown = make_layer(experts, "b", workspace=ws)  # larger: grows, no forward ran yet
    assert ws.nbytes == grown.workspace_bytes > small.workspace_bytes
    x = moe_data.to_bf16(rng.standard_normal((8, H)))
    small.run(x, *routed(rng, "a", 8))
    make_layer(experts, "a", max_tokens=8, workspace=ws)  # fits: no growth needed
    with pytest.raises(fp4moe.Error, match=r"MoeLayer: workspace: expected an fp4moe.Workspace of at least \d+ "
                                           r"bytes, or one no forward has run on yet.*already used by a forward"):
        make_layer(experts, "b", max_tokens=4 * MAX_T, workspace=ws)
    assert ws.nbytes == grown.workspace_bytes  # the refusal left it as it was
    # Sized up front, it takes the larger layer after a forward.
    sized = fp4moe.Workspace(device="cpu", nbytes=10 * grown.workspace_bytes)
    make_layer(experts, "a", workspace=sized).run(x, *routed(rng, "a", 8))
    big = make_layer(experts, "b", max_tokens=4 * MAX_T, workspace=sized)
    assert sized.nbytes == 10 * grown.workspace_bytes >= big.workspace_bytes


def test_workspace_errors(experts):
    with pytest.raises(fp4moe.Error, match="MoeLayer: workspace: expected an fp4moe.Workspace or None, got int"):
        make_layer(experts, "a", workspace=1 << 20)
    with pytest.raises(fp4moe.Error, match='Workspace: device: expected "cpu", "cuda" or "cuda:N", got "tpu"'):
        fp4moe.Workspace(device="tpu")
    with pytest.raises(fp4moe.Error, match="Workspace: nbytes: expected a non-negative byte count, got -1"):
        fp4moe.Workspace(device="cpu", nbytes=-1)
    if not fp4moe.cuda_available():
        with pytest.raises(fp4moe.Error, match="Workspace: device: expected"):
            fp4moe.Workspace(device="cuda")
    assert repr(fp4moe.Workspace(device="cpu", nbytes=256)) == "fp4moe.Workspace(device='cpu', nbytes=256, used=False)"
