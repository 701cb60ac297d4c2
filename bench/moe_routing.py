# The benchmark's routing, generated on the host with NumPy so that every machine and both sides (ours and
# the peer) see the same top-k: softmax over random Gaussian logits, top-k with ties toward the lower
# expert id, weights renormalised over the k chosen. The skewed case sends half the tokens to 4 hot experts.
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNIFORM = "uniform"
SKEWED = "skewed"
ROUTING_KINDS = (UNIFORM, SKEWED)
SKEW_HOT_EXPERTS = 4
# Added to the hot experts' logits of the skewed tokens: exp(30) dwarfs any Gaussian gap, so every
# skewed token has all hot experts in its top-k.
SKEW_LOGIT_BOOST = 30.0


@dataclass
class Routing:
  kind: str
  topk_ids: np.ndarray  # int32 [T, k]
  topk_weights: np.ndarray  # float32 [T, k]
  hot_experts: tuple[int, ...] = ()  # skewed only

  @property
  def tokens(self) -> int:
    return self.topk_ids.shape[0]

  @property
  def touched(self) -> int:
    """Distinct experts the batch reads."""
    return int(np.unique(self.topk_ids).size)


def softmax_topk(logits: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
  shifted = logits - logits.max(axis=1, keepdims=True)
  probs = np.exp(shifted.astype(np.float64))
  probs /= probs.sum(axis=1, keepdims=True)
  # A stable sort on -p keeps equal probabilities in id order: ties go to the lower expert id.
  ids = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
  weights = np.take_along_axis(probs, ids, axis=1)
  weights /= weights.sum(axis=1, keepdims=True)
  return ids.astype(np.int32), weights.astype(np.float32)


def make_routing(kind: str, tokens: int, experts: int, top_k: int, seed: int) -> Routing:
  if kind not in ROUTING_KINDS:
    raise ValueError(f"routing kind: expected one of {ROUTING_KINDS}, got {kind!r}")
  if not 1 <= top_k <= experts:
    raise ValueError(f"top_k: expected 1..{experts}, got {top_k}")
  rng = np.random.default_rng([seed, tokens, experts, top_k, ROUTING_KINDS.index(kind)])
  logits = rng.standard_normal((tokens, experts), dtype=np.float32)
  hot: tuple[int, ...] = ()
  if kind == SKEWED:
    hot = tuple(int(e) for e in np.sort(rng.choice(experts, size=min(SKEW_HOT_EXPERTS, experts), replace=False)))
    skewed_tokens = rng.permutation(tokens)[: tokens // 2]
    logits[np.ix_(skewed_tokens, np.array(hot))] += SKEW_LOGIT_BOOST
  ids, weights = softmax_topk(logits, top_k)
  return Routing(kind, ids, weights, hot)
