"""The CUDA backend through PyTorch: torch.ops.fp4moe.moe_forward against a plain PyTorch float64
reference written here (independent of the C++ reference), in eager mode, under
torch.compile(fullgraph=True) and as a CUDA-graph replay; expert biases too. Run on the GPU machine:

    python -m pytest -v tests/python/test_gpu.py

Skipped, with the reason shown, without torch, without a GPU, or with a CPU-only build."""

import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed: the GPU tests drive fp4moe through it")

import fp4moe  # noqa: E402
import fp4moe.torch as fp4moe_torch  # noqa: E402
import moe_data  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and fp4moe.cuda_available()),
    reason=f"needs a CUDA GPU (torch sees one: {torch.cuda.is_available()}) and fp4moe built with FP4MOE_CUDA=ON "
           f"(built_with_cuda: {fp4moe.built_with_cuda})")

BOUND = 1e-2  # spec section 6
SHAPES = {  # (experts, hidden, intermediate, top_k)
    "small": (16, 512, 384, 4),
    "odd": (8, 272, 80, 2),  # neither H nor I a multiple of 64 or 128
}
TOKENS = (1, 7, 64, 300)
MAX_T = 512

# ---- the PyTorch reference (spec sections 1, 2 and 4) ----

E2M1 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=torch.float64)


def dequantize(packed, scales, scale_2):
    """uint8 [N, K/2] codes, E4M3 [N, K/16] scales -> float64 [N, K] = e2m1 * e4m3 * scale_2."""
    codes = torch.stack([packed & 0xF, packed >> 4], dim=-1).flatten(-2).long()
    block = scales.view(torch.float8_e4m3fn).double().repeat_interleave(16, dim=-1)
    return E2M1.to(packed.device)[codes] * block * float(scale_2)


def e2m1_round(v):
    """Round to nearest even onto 0, .5, 1, 1.5, 2, 3, 4, 6 (saturating), keeping the sign."""
    a = v.abs()
    m = torch.where(a <= 0.25, 0.0, torch.where(a < 0.75, 0.5, torch.where(a <= 1.25, 1.0, torch.where(
        a < 1.75, 1.5, torch.where(a <= 2.5, 2.0, torch.where(a < 3.5, 3.0, torch.where(a <= 5, 4.0, 6.0)))))))
    return torch.copysign(m.to(v.dtype), v)


def fake_quantize(x, global_scale):
    """x float32 [R, K] through NVFP4 with `global_scale` and back, as float64 (FP32 arithmetic)."""
    gs = torch.tensor(global_scale, dtype=torch.float32, device=x.device)
    blocks = x.float().reshape(x.shape[0], -1, 16)
    # Saturate first: torch's float8_e4m3fn conversion turns values past 448 into NaN, the contract
    # (satfinite) into 448.
    s = (gs * blocks.abs().amax(dim=-1) / 6).clamp(max=448.0).to(torch.float8_e4m3fn).float()
    inv = torch.where(s == 0, torch.zeros_like(s), gs / s)
    q = e2m1_round(blocks * inv[..., None])
    return (q.double() * s.double()[..., None] / gs.double()).reshape(x.shape)


def global_scale(amax):
    """448 * 6 / amax in FP32, as the contract computes it."""
    return 1.0 if amax == 0 else float(np.float32(2688) / np.float32(amax))


def inverse(input_scale):
    """The global scale of a calibrated ModelOpt input_scale: 1 / input_scale in FP32."""
    return float(np.float32(1) / np.float32(input_scale))


def act_fn(kind, g, u, limit=7.0, alpha=1.702):
    if kind == "silu":
        return torch.nn.functional.silu(g) * u
    if kind == "swiglu_oai":
        g = g.clamp(max=limit)
        return g * torch.sigmoid(alpha * g) * (u.clamp(-limit, limit) + 1)
    if kind == "silu_clamped":
        return torch.nn.functional.silu(g).clamp(max=limit) * u.clamp(-limit, limit)
    raise ValueError(kind)


def reference(w, x, topk_weights, topk_ids, kind="silu", local_start=0, mode="w4a16", a13=None, a2=None):
    """float64 [T, H]; W4A4 with calibrated input scales, or dynamic ones from the tensors' amax. The
    biases `w` holds (w13_bias [E, 2I] gate then up, w2_bias [E, H]; absent: zero) are added to the GEMM
    outputs: y_pair = W2 act(W13 x + b13) + b2, weighted by the pair's top-k weight."""
    x = x.double()
    if mode == "w4a4":
        x = fake_quantize(x, inverse(a13) if a13 else global_scale(x.abs().max().item()))
    num_local, i = w["gate"].shape[:2]
    b13 = w.get("w13_bias", torch.zeros(num_local, 2 * i, dtype=torch.float64, device=x.device))
    b2 = w.get("w2_bias", torch.zeros(num_local, x.shape[1], dtype=torch.float64, device=x.device))
    rows = []  # (tokens, slots, expert, activation)
    for e in range(num_local):
        tokens, slots = torch.nonzero(topk_ids == local_start + e, as_tuple=True)
        if tokens.numel():
            xe = x[tokens]
            gate, up = xe @ w["gate"][e].T + b13[e, :i], xe @ w["up"][e].T + b13[e, i:]
            rows.append((tokens, slots, e, act_fn(kind, gate, up).float()))
    if mode == "w4a4" and rows:
        amax = max(a.abs().max().item() for *_, a in rows)
        gs2 = inverse(a2) if a2 else global_scale(amax)
    y = torch.zeros_like(x)
    for tokens, slots, e, a in rows:
        a = fake_quantize(a, gs2) if mode == "w4a4" else a.to(torch.bfloat16).double()
        y.index_add_(0, tokens, topk_weights[tokens, slots, None].double() * (a @ w["down"][e].T + b2[e]))
    return y


def rel_error(y, ref):
    return ((y.double() - ref).norm() / ref.norm()).item()


# ---- fixtures ----

def make_weights(shape_name, num_local=None, biases=False):
    """The weights on the device (biases, where asked for, as BF16 tensors, as gpt-oss stores them) and
    their float64 values for the reference (the same experts with or without biases)."""
    e, h, i, _ = SHAPES[shape_name]
    rng = np.random.default_rng(sum(map(ord, shape_name)))
    ex = moe_data.random_experts(rng, e if num_local is None else num_local, h, i)
    dev = {k: torch.from_numpy(v).cuda() for k, v in ex.items() if k in (
        "w13", "w13_scale", "w13_scale_2", "w2", "w2_scale", "w2_scale_2")}
    if biases:
        for k, v in moe_data.random_biases(rng, ex["w13"].shape[0], h, i).items():
            dev[k] = torch.from_numpy(v).cuda().to(torch.bfloat16)
    dev["w13_scale"] = dev["w13_scale"].view(torch.float8_e4m3fn)
    dev["w2_scale"] = dev["w2_scale"].view(torch.float8_e4m3fn)
    ref = {"gate": [], "up": [], "down": []}
    for x in range(ex["w13"].shape[0]):
        ref["gate"].append(dequantize(dev["w13"][x, :i], dev["w13_scale"][x, :i].view(torch.uint8),
                                      ex["w13_scale_2"][x, 0]))
        ref["up"].append(dequantize(dev["w13"][x, i:], dev["w13_scale"][x, i:].view(torch.uint8),
                                    ex["w13_scale_2"][x, 1]))
        ref["down"].append(dequantize(dev["w2"][x], dev["w2_scale"][x].view(torch.uint8), ex["w2_scale_2"][x]))
    ref = {k: torch.stack(v) for k, v in ref.items()}
    ref.update({k: dev[k].double() for k in ("w13_bias", "w2_bias") if k in dev})
    return dev, ref


def load_args(dev):
    return (dev["w13"], dev["w13_scale"], dev["w13_scale_2"], dev["w2"], dev["w2_scale"], dev["w2_scale_2"])


def bias_kwargs(dev):
    return {k: dev[k] for k in ("w13_bias", "w2_bias") if k in dev}


@pytest.fixture(scope="module", params=list(SHAPES))
def shape_case(request):
    dev, ref = make_weights(request.param)
    return request.param, dev, ref


def make_module(shape_name, dev, **options):
    e, h, i, k = SHAPES[shape_name]
    module = fp4moe_torch.Fp4MoE(e, h, i, k, MAX_T, device="cuda", **options)
    module.load_weights(*load_args(dev))
    return module


def routed(shape_name, tokens, seed, num_experts=None):
    e, h, _, k = SHAPES[shape_name]
    g = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(tokens, h, device="cuda", generator=g).to(torch.bfloat16)
    logits = torch.randn(tokens, num_experts or e, device="cuda", generator=g)
    weights, ids = torch.topk(torch.softmax(logits, dim=-1), k)
    return x, weights, ids.to(torch.int32)


# ---- tests ----

@pytest.mark.parametrize("kind", ["silu", "swiglu_oai", "silu_clamped"])
def test_eager_matches_torch_reference(shape_case, kind):
    name, dev, ref = shape_case
    module = make_module(name, dev, activation=kind)
    for seed, tokens in enumerate(TOKENS):
        x, weights, ids = routed(name, tokens, seed)
        out = torch.full_like(x, float("nan"))  # every element must be written
        module.layer.run(x, weights, ids, out=out)
        torch.cuda.synchronize()
        assert torch.isfinite(out).all()
        err = rel_error(out, reference(ref, x, weights, ids, kind))
        print(f"{name} {kind} T={tokens}: rel error {err:.2e}")
        assert err < BOUND


@pytest.fixture(scope="module", params=list(SHAPES))
def biased_case(request):
    dev, ref = make_weights(request.param, biases=True)
    return request.param, dev, ref


@pytest.mark.parametrize("mode", ["w4a16", "w4a4_calibrated", "w4a4_dynamic"])
@pytest.mark.parametrize("kind", ["swiglu_oai", "silu"])
def test_biases_match_torch_reference(biased_case, kind, mode):
    """Expert biases (gpt-oss): w13_bias and w2_bias as BF16 CUDA tensors, every batch size's kernels,
    W4A16 and W4A4 (the activations quantized with the biases added, calibrated or by their amax)."""
    name, dev, ref = biased_case
    e, h, i, k = SHAPES[name]
    quant = mode.split("_")[0]
    layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, activation=kind, mode=quant, device="cuda")
    a13 = a2 = None
    if mode == "w4a4_calibrated":
        a13, a2 = 6.0 / 2688, 0.03
    layer.load_weights(*load_args(dev), a13_scale=a13, a2_scale=a2, **bias_kwargs(dev))
    unbiased = {key: ref[key] for key in ("gate", "up", "down")}
    for seed, tokens in enumerate(TOKENS):
        x, weights, ids = routed(name, tokens, 100 + seed)
        out = torch.full_like(x, float("nan"))  # every element must be written
        layer.run(x, weights, ids, out=out)
        torch.cuda.synchronize()
        assert torch.isfinite(out).all()
        kw = {"kind": kind, "mode": quant, "a13": a13, "a2": a2}
        err = rel_error(out, reference(ref, x, weights, ids, **kw))
        without = rel_error(out, reference(unbiased, x, weights, ids, **kw))
        print(f"{name} {kind} {mode} biases T={tokens}: rel error {err:.2e} (vs no biases {without:.2e})")
        assert err < BOUND and without > 10 * BOUND


def test_biases_from_host_and_device_in_a_graph_and_on_the_cpu(biased_case):
    """The same biases from the device (BF16) and from the host as float32 NumPy arrays (the same values):
    the same GPU layer, bit for bit, also as a CUDA-graph replay; and the CPU backend within the bound."""
    name, dev, _ = biased_case
    e, h, i, k = SHAPES[name]
    x, weights, ids = routed(name, 64, 110)
    host = {key: v.float().cpu().numpy() for key, v in bias_kwargs(dev).items()}
    outputs = []
    for biases in (bias_kwargs(dev), host):
        layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, activation="swiglu_oai", device="cuda")
        layer.load_weights(*load_args(dev), **biases)
        outputs.append(layer.run(x, weights, ids))
    assert torch.equal(outputs[0], outputs[1])
    torch.cuda.synchronize()
    y = torch.full_like(x, float("nan"))
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        layer.run(x, weights, ids, out=y)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(y, outputs[0])
    cpu = fp4moe.MoeLayer(e, h, i, k, MAX_T, activation="swiglu_oai", device="cpu")
    cpu.load_weights(*load_args(dev), **host)
    diff = rel_error(outputs[0].cpu(), cpu.run(x.cpu(), weights.cpu(), ids.cpu()).double())
    print(f"{name} biases: GPU vs CPU backend rel difference {diff:.2e}")
    assert diff < BOUND


def test_gpu_agrees_with_cpu_backend(shape_case):
    name, dev, _ = shape_case
    e, h, i, k = SHAPES[name]
    gpu = make_module(name, dev)
    cpu = fp4moe.MoeLayer(e, h, i, k, MAX_T, device="cpu")
    cpu.load_weights(*load_args(dev))
    x, weights, ids = routed(name, 64, 11)
    y_gpu = gpu(x, weights, ids).cpu()
    y_cpu = cpu.run(x.cpu(), weights.cpu(), ids.cpu())
    diff = rel_error(y_gpu, y_cpu.double())
    print(f"{name}: GPU vs CPU backend rel difference {diff:.2e}")
    assert diff < BOUND


def test_weights_from_the_device_load_as_from_the_host(shape_case):
    """CUDA tensors on the layer's device are read in place, host ones copied: the same layer either way,
    also with a non-contiguous device tensor and when a corrupt block scale must be rejected."""
    name, dev, _ = shape_case
    e, h, i, k = SHAPES[name]
    x, weights, ids = routed(name, 64, 14)
    outputs = []
    for args in (load_args(dev), tuple(t.cpu() for t in load_args(dev))):
        layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, device="cuda")
        layer.load_weights(*args)
        outputs.append(layer.run(x, weights, ids))
    assert torch.equal(outputs[0], outputs[1])

    transposed = dev["w2"].transpose(1, 2).contiguous().transpose(1, 2)  # same values, not row-major
    layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, device="cuda")
    layer.load_weights(dev["w13"], dev["w13_scale"], dev["w13_scale_2"], transposed, dev["w2_scale"],
                       dev["w2_scale_2"])
    assert torch.equal(layer.run(x, weights, ids), outputs[0])

    corrupt = dev["w2_scale"].view(torch.uint8).clone()
    corrupt[e - 1, 0, 0] = 0x7F  # E4M3 NaN
    layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, device="cuda")
    with pytest.raises(fp4moe.Error, match="down"):
        layer.load_weights(dev["w13"], dev["w13_scale"], dev["w13_scale_2"], dev["w2"], corrupt, dev["w2_scale_2"])


@pytest.mark.parametrize("calibrated", [True, False])
def test_w4a4_matches_torch_reference(shape_case, calibrated):
    name, dev, ref = shape_case
    x, weights, ids = routed(name, 64, 12)
    a13 = x.float().abs().max().item() / 2688 * 1.25 if calibrated else None
    a2 = 0.01 if calibrated else None
    e, h, i, k = SHAPES[name]
    layer = fp4moe.MoeLayer(e, h, i, k, MAX_T, mode="w4a4", device="cuda")
    layer.load_weights(*load_args(dev), a13_scale=a13, a2_scale=a2)
    y = layer.run(x, weights, ids)
    err = rel_error(y, reference(ref, x, weights, ids, mode="w4a4", a13=a13, a2=a2))
    print(f"{name} W4A4 {'calibrated' if calibrated else 'dynamic'}: rel error {err:.2e}")
    assert err < BOUND


def test_expert_parallel_and_dropped_ids():
    e, h, i, k = SHAPES["small"]
    dev, ref = make_weights("small", num_local=5)
    layer = fp4moe.MoeLayer(2 * e, h, i, k, MAX_T, local_expert_start=6, local_experts=5, device="cuda")
    layer.load_weights(*load_args(dev))
    x, weights, ids = routed("small", 200, 13, num_experts=2 * e)
    ids[::7, 0] = -1
    err = rel_error(layer.run(x, weights, ids), reference(ref, x, weights, ids, local_start=6))
    print(f"expert parallel: rel error {err:.2e}")
    assert err < BOUND


def test_compile_fullgraph(shape_case):
    name, dev, ref = shape_case
    module = make_module(name, dev)
    compiled = torch.compile(module, fullgraph=True, dynamic=True)
    for seed, tokens in enumerate(TOKENS):
        x, weights, ids = routed(name, tokens, 20 + seed)
        y = compiled(x, weights, ids.long())  # the int64 -> int32 conversion is traced too
        err = rel_error(y, reference(ref, x, weights, ids))
        print(f"{name} compiled T={tokens}: rel error {err:.2e}")
        assert err < BOUND


def test_cuda_graph_capture_and_replay(shape_case):
    name, dev, ref = shape_case
    module = make_module(name, dev)
    x, weights, ids = routed(name, 64, 30)
    module(x, weights, ids)  # warm-up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = module(x, weights, ids)
    for seed in (31, 32):
        new_x, new_weights, new_ids = routed(name, 64, seed)
        x.copy_(new_x)
        weights.copy_(new_weights)
        ids.copy_(new_ids)
        y.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        assert torch.isfinite(y).all()
        err = rel_error(y, reference(ref, new_x, new_weights, new_ids))
        eager_diff = rel_error(y, module(new_x, new_weights, new_ids).double())
        print(f"{name} graph replay: rel error {err:.2e}, vs eager {eager_diff:.2e}")
        assert err < BOUND and eager_diff < 5e-3


def test_compiled_module_in_a_cuda_graph_on_a_side_stream(shape_case):
    name, dev, ref = shape_case
    compiled = torch.compile(make_module(name, dev), fullgraph=True)
    x, weights, ids = routed(name, 7, 40)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        compiled(x, weights, ids)  # compiles and warms up on the side stream
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        y = compiled(x, weights, ids)
    graph.replay()
    torch.cuda.synchronize()
    assert rel_error(y, reference(ref, x, weights, ids)) < BOUND


def test_device_and_dtype_errors(shape_case):
    name, dev, _ = shape_case
    module = make_module(name, dev)
    x, weights, ids = routed(name, 3, 50)
    with pytest.raises(fp4moe.Error, match="hidden_states: expected an array in CUDA device"):
        module.layer.run(x.cpu(), weights, ids)
    with pytest.raises(fp4moe.Error, match="topk_ids: expected int32"):
        module.layer.run(x, weights, ids.long())
    assert module.layer.workspace_bytes > 0


@pytest.mark.parametrize("mode", ["w4a16", "w4a4"])
def test_layers_sharing_a_workspace_in_a_cuda_graph(mode):
    """Two CUDA layers of different shapes on one fp4moe.Workspace, run as consecutive layers (each one's
    output the next one's input, A B A) in one CUDA graph: bit for bit the outputs of the same layers
    with workspaces of their own, run eagerly; and near the float64 reference."""
    e, h, i, k = SHAPES["small"]
    dev_a, ref_a = make_weights("small")
    rng = np.random.default_rng(80)
    ex_b = moe_data.random_experts(rng, 12, h, 1424)
    ws = fp4moe.Workspace(device="cuda")
    layers = {}
    for name, (num_experts, inter, top_k, args) in {
            "a": (e, i, k, load_args(dev_a)), "b": (12, 1424, 3, moe_data.load_args(ex_b))}.items():
        for shared in (True, False):
            layer = fp4moe.MoeLayer(num_experts, h, inter, top_k, MAX_T, mode=mode, device="cuda",
                                    workspace=ws if shared else None)
            layer.load_weights(*args)
            layers[name, shared] = layer
    assert ws.nbytes == max(layers["a", True].workspace_bytes, layers["b", True].workspace_bytes)
    with pytest.raises(fp4moe.Error, match="MoeLayer: workspace: expected an fp4moe.Workspace on the layer's "
                                           "device cuda:0, got one on cpu"):
        fp4moe.MoeLayer(e, h, i, k, MAX_T, device="cuda:0", workspace=fp4moe.Workspace(device="cpu"))
    absent = torch.cuda.device_count()  # one past the last visible device
    for make in (lambda: fp4moe.Workspace(device=f"cuda:{absent}"),
                 lambda: fp4moe.MoeLayer(e, h, i, k, MAX_T, device=f"cuda:{absent}")):
        with pytest.raises(fp4moe.Error, match=rf'device: expected "cuda" or "cuda:N" with N one of the {absent} '
                                               rf'visible devices, 0\.\.{absent - 1}, got "cuda:{absent}"'):
            make()

    x, w_a, ids_a = routed("small", 300, 81)
    g = torch.Generator(device="cuda").manual_seed(82)
    w_b, ids_b = torch.topk(torch.softmax(torch.randn(300, 12, device="cuda", generator=g), dim=-1), 3)
    ids_b = ids_b.to(torch.int32)
    outs = [torch.empty_like(x) for _ in range(3)]
    steps = (("a", x, w_a, ids_a), ("b", outs[0], w_b, ids_b), ("a", outs[1], w_a, ids_a))
    layers["a", True].run(x, w_a, ids_a, out=outs[0])  # warm-up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for (name, inp, weights, ids), out in zip(steps, outs):
            layers[name, True].run(inp, weights, ids, out=out)
    for out in outs:
        out.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    for (name, inp, weights, ids), out in zip(steps, outs):
        want = layers[name, False].run(inp, weights, ids)
        assert torch.equal(out.view(torch.int16), want.view(torch.int16)), f"layer {name}"
    err = rel_error(outs[0], reference(ref_a, x, w_a, ids_a, mode=mode))
    print(f"shared workspace ({mode}): first layer's rel error {err:.2e}")
    assert torch.isfinite(torch.stack(outs)).all() and err < BOUND


@pytest.mark.parametrize("mode", ["w4a16", "w4a4"])
def test_checkpoint_layer_on_the_gpu(mode):
    """MoeLayer.from_checkpoint on the committed tiny checkpoint, on the GPU, against the float64
    reference of the same layer loaded on the CPU (W4A4 with the checkpoint's calibrated scales)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "data" / "tiny-nvfp4"
    gpu = fp4moe.MoeLayer.from_checkpoint(path, 1, 64, mode=mode, device="cuda")
    cpu = fp4moe.MoeLayer.from_checkpoint(path, 1, 64, mode=mode, device="cpu")
    rng = np.random.default_rng(60)
    x_bits = moe_data.to_bf16(rng.standard_normal((37, gpu.hidden)))
    weights, ids = moe_data.random_routing(rng, 37, gpu.num_experts, gpu.top_k)
    x = torch.from_numpy(x_bits.view(np.int16)).view(torch.bfloat16).cuda()
    out = torch.full((37, gpu.hidden), float("nan"), dtype=torch.bfloat16, device="cuda")
    gpu.run(x, torch.from_numpy(weights).cuda(), torch.from_numpy(ids).cuda(), out=out)
    torch.cuda.synchronize()
    ref = torch.from_numpy(fp4moe.reference_forward(cpu, x_bits, weights, ids))
    err = rel_error(out.cpu(), ref)
    print(f"tiny checkpoint {mode} on the GPU: rel error {err:.2e}")
    assert torch.isfinite(out).all() and err < BOUND


# ---- fp4moe.route on CUDA tensors ----

ROUTINGS = {  # method: (experts, top_k, keyword arguments)
    "softmax_topk": (128, 8, {"renormalize": True}),
    "topk_softmax": (128, 4, {}),
    "sigmoid_grouped_topk": (256, 8, {"num_groups": 8, "topk_group": 4, "routed_scaling_factor": 2.5}),
    "topk_sigmoid": (128, 1, {}),
}


@pytest.mark.parametrize("method", list(ROUTINGS))
def test_route_on_the_gpu_matches_the_host(method):
    """fp4moe.route on a CUDA tensor: new tensors on that device holding the host's ids and its weights
    within a few ulps; a row the host would reject (NaN) gets NaN weights and the ids 0..k-1."""
    e, k, kw = ROUTINGS[method]
    g = torch.Generator(device="cuda").manual_seed(90)
    logits = torch.randn(300, e, device="cuda", generator=g) * 3
    logits[5, ::7] = float("-inf")  # masked experts
    if method == "sigmoid_grouped_topk":
        kw = dict(kw, correction_bias=torch.rand(e, device="cuda", generator=g) * 0.3)
    weights, ids = fp4moe.route(logits, k, method, **kw)
    assert weights.device == logits.device and ids.device == logits.device
    assert weights.dtype == torch.float32 and ids.dtype == torch.int32 and tuple(ids.shape) == (300, k)
    host_kw = {key: (v.cpu() if torch.is_tensor(v) else v) for key, v in kw.items()}
    w_host, ids_host = fp4moe.route(logits.cpu(), k, method, **host_kw)
    assert np.array_equal(ids.cpu().numpy(), ids_host)
    np.testing.assert_allclose(weights.cpu().numpy(), w_host, rtol=4e-7, atol=0)

    logits[7, 3] = float("nan")
    weights, ids = fp4moe.route(logits, k, method, **kw)
    assert torch.isnan(weights[7]).all() and ids[7].tolist() == list(range(k))
    assert torch.isfinite(torch.cat([weights[:7], weights[8:]])).all()


def test_route_on_the_gpu_errors():
    logits = torch.randn(4, 16, device="cuda")
    with pytest.raises(fp4moe.Error, match=r"route: correction_bias: expected a tensor on cuda:0 \(the logits' "
                                           r"device\), got cpu"):
        fp4moe.route(logits, 2, "sigmoid_grouped_topk", num_groups=4, topk_group=2, correction_bias=torch.zeros(16))
    with pytest.raises(fp4moe.Error, match=r"route: top_k: expected 1\.\.num_experts \(16\), got 17"):
        fp4moe.route(logits, 17)
    with pytest.raises(fp4moe.Error, match=r"route: logits: expected a \[tokens, experts\] matrix, got shape \(64,\)"):
        fp4moe.route(logits.flatten(), 2)
    with pytest.raises(fp4moe.Error, match="route_on_device: num_experts: expected at most 1024 on the device, "
                                           "got 1025"):
        fp4moe.route(torch.randn(2, 1025, device="cuda"), 2)
    with pytest.raises(fp4moe.Error, match=r"params.num_groups: expected a divisor of num_experts \(16\), got 3"):
        fp4moe.route(logits, 2, "sigmoid_grouped_topk", num_groups=3)


def test_route_and_forward_in_one_cuda_graph(shape_case):
    """Router logits to the layer's output in one CUDA graph (the routing on the device, no host sync),
    replayed on new logits: the host's routing of those logits, and the layer's output for it."""
    name, dev, ref = shape_case
    e, h, _, k = SHAPES[name]
    module = make_module(name, dev)
    g = torch.Generator(device="cuda").manual_seed(91)
    x = torch.randn(64, h, device="cuda", generator=g).to(torch.bfloat16)
    logits = torch.randn(64, e, device="cuda", generator=g)
    out = torch.empty_like(x)
    fp4moe.route(logits, k, renormalize=True)  # warm-up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        weights, ids = fp4moe.route(logits, k, renormalize=True)
        module.layer.run(x, weights, ids, out=out)
    for _ in range(2):
        logits.copy_(torch.randn(64, e, device="cuda", generator=g))
        out.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        w_host, ids_host = (torch.from_numpy(a).cuda() for a in fp4moe.route(logits.cpu(), k, renormalize=True))
        assert torch.equal(ids, ids_host)
        want = module.layer.run(x, w_host, ids_host)
        assert torch.isfinite(out).all()
        assert rel_error(out, want.double()) < 1e-3  # the weights may differ by ulps
        assert rel_error(out, reference(ref, x, w_host, ids_host)) < BOUND


def test_route_op_and_forward_under_compile(shape_case):
    """torch.ops.fp4moe.route feeding the layer's op under torch.compile(fullgraph=True): the eager
    result bit for bit; the op on CPU logits routes on the host into CPU tensors, as the device does."""
    name, dev, _ = shape_case
    e, h, _, k = SHAPES[name]
    module = make_module(name, dev)

    def step(x, logits):
        weights, ids = torch.ops.fp4moe.route(logits, k, "softmax_topk", True)
        return module(x, weights, ids)

    compiled = torch.compile(step, fullgraph=True)
    g = torch.Generator(device="cuda").manual_seed(94)
    x = torch.randn(37, h, device="cuda", generator=g).to(torch.bfloat16)
    logits = torch.randn(37, e, device="cuda", generator=g).to(torch.bfloat16)  # as a gate's linear gives them
    want = step(x, logits)
    assert torch.equal(compiled(x, logits).view(torch.int16), want.view(torch.int16))
    weights, ids = torch.ops.fp4moe.route(logits, k, "softmax_topk", True)
    w_cpu, ids_cpu = torch.ops.fp4moe.route(logits.cpu(), k, "softmax_topk", True)
    assert w_cpu.device.type == "cpu" and ids_cpu.dtype == torch.int32
    assert torch.equal(ids_cpu, ids.cpu()) and torch.allclose(w_cpu, weights.cpu(), rtol=4e-7, atol=0)
