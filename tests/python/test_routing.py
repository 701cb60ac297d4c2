"""fp4moe.route against NumPy float64 routers written here from spec section 5 (independent of the C++
code): the spec's three methods and Llama-4's topk_sigmoid on random logits, ties to the lower expert id,
and the errors."""

import numpy as np
import pytest

import fp4moe

T, E, K = 37, 16, 4


def order(scores):
    """Expert ids by score descending, equal scores by id ascending (the spec's tie rule)."""
    return np.lexsort((np.arange(scores.shape[-1]), -scores))


def softmax_topk(logits, k, renormalize):
    p = np.exp(logits - logits.max())
    p /= p.sum()
    ids = order(p)[:k]
    w = p[ids] / (p[ids].sum() if renormalize else 1.0)
    return w, ids


def topk_softmax(logits, k):
    ids = order(logits)[:k]
    e = np.exp(logits[ids] - logits[ids].max())
    return e / e.sum(), ids


def topk_sigmoid(logits, k):
    ids = order(logits)[:k]
    return 1.0 / (1.0 + np.exp(-logits[ids])), ids


def sigmoid_grouped_topk(logits, k, groups, topk_group, scale, bias):
    s = 1.0 / (1.0 + np.exp(-logits))
    biased = s + bias
    size = logits.size // groups
    group_scores = np.array([np.sort(biased[g * size:(g + 1) * size])[::-1][:2].sum() for g in range(groups)])
    kept = order(group_scores)[:topk_group]
    masked = np.where(np.isin(np.arange(logits.size) // size, kept), biased, -np.inf)
    ids = order(masked)[:k]
    return s[ids] / s[ids].sum() * scale, ids


@pytest.fixture(scope="module")
def logits():
    return np.random.default_rng(70).standard_normal((T, E)).astype(np.float32)


def check(got, want_rows):
    weights, ids = got
    assert weights.dtype == np.float32 and ids.dtype == np.int32 and weights.shape == ids.shape == (T, K)
    for t, (w, i) in enumerate(want_rows):
        assert ids[t].tolist() == i.tolist(), f"token {t}"
        np.testing.assert_allclose(weights[t], w, rtol=2e-6, err_msg=f"token {t}")


@pytest.mark.parametrize("renormalize", [False, True])
def test_softmax_topk(logits, renormalize):
    check(fp4moe.route(logits, K, renormalize=renormalize),
          [softmax_topk(row.astype(np.float64), K, renormalize) for row in logits])


def test_topk_softmax(logits):
    check(fp4moe.route(logits, K, "topk_softmax"), [topk_softmax(row.astype(np.float64), K) for row in logits])


def test_topk_sigmoid(logits):
    check(fp4moe.route(logits, K, "topk_sigmoid"), [topk_sigmoid(row.astype(np.float64), K) for row in logits])


def test_sigmoid_grouped_topk(logits):
    bias = np.random.default_rng(71).uniform(-0.2, 0.2, E).astype(np.float32)
    got = fp4moe.route(logits, K, "sigmoid_grouped_topk", num_groups=4, topk_group=2, routed_scaling_factor=2.5,
                       correction_bias=bias)
    check(got, [sigmoid_grouped_topk(row.astype(np.float64), K, 4, 2, 2.5, bias.astype(np.float64))
                for row in logits])


def test_ties_go_to_the_lower_expert_id():
    equal = np.zeros((2, E), dtype=np.float32)
    equal[1, [3, 9, 12]] = 1.0
    for method in ("softmax_topk", "topk_softmax", "sigmoid_grouped_topk", "topk_sigmoid"):
        _, ids = fp4moe.route(equal, K, method)
        assert ids[0].tolist() == [0, 1, 2, 3] and ids[1].tolist() == [3, 9, 12, 0], method


def test_bfloat16_logits_route_by_value(logits):
    """bfloat16 logits (ml_dtypes' here; torch's take the same path) are routed by their values, not their
    bits: as the same values in float32."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = logits.astype(ml_dtypes.bfloat16)
    for method in ("softmax_topk", "topk_softmax", "sigmoid_grouped_topk", "topk_sigmoid"):
        got, want = fp4moe.route(bf16, K, method), fp4moe.route(bf16.astype(np.float32), K, method)
        assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0]), method


def test_errors_name_the_argument(logits):
    with pytest.raises(fp4moe.Error, match="route: method: expected one of softmax_topk, topk_softmax, "
                                           "sigmoid_grouped_topk, topk_sigmoid, got 'softmax'"):
        fp4moe.route(logits, K, "softmax")
    with pytest.raises(fp4moe.Error, match=r"route: top_k: expected 1..num_experts \(16\), got 17"):
        fp4moe.route(logits, E + 1)
    with pytest.raises(fp4moe.Error, match="route: correction_bias: expected"):
        fp4moe.route(logits, K, "sigmoid_grouped_topk", correction_bias=np.zeros(E + 1, np.float32))
    with pytest.raises(fp4moe.Error, match="route: logits: expected"):
        fp4moe.route(logits[0], K)
    bad = logits.copy()
    bad[5, 2] = np.nan
    with pytest.raises(fp4moe.Error, match="logits"):
        fp4moe.route(bad, K)
