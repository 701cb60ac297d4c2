"""When the tokens of a batch are complete (all their pairs through GEMM 2), for GEMM 2's tiles taken in
expert order or in passes of g tiles of every expert, each tile counted as equal work. The benchmark's
uniform routing of qwen3-30b-a3b at 16384 tokens, 128-row tiles. Run from bench/: PYTHONPATH=. python3
results/h200-pass-major/completion_model.py (numpy only)."""
import numpy as np

from moe_routing import make_routing

E, K, T, TILE = 128, 8, 16384, 128
ids = make_routing("uniform", T, E, K, 1234).topk_ids
rows = [np.sort(np.nonzero((ids == e).any(1))[0]) for e in range(E)]  # an expert's rows in token order
tiles = [int(np.ceil(len(r) / TILE)) for r in rows]


def done_at(order):
  done = np.zeros(T)
  for pos, (e, j) in enumerate(order):
    toks = rows[e][j * TILE:(j + 1) * TILE]
    done[toks] = np.maximum(done[toks], (pos + 1) / len(order))
  return done


def in_passes(g):
  return [(e, j) for p in range(0, max(tiles), g) for e in range(E) for j in range(p, min(p + g, tiles[e]))]


for name, order, reads in [("expert order", [(e, j) for e in range(E) for j in range(tiles[e])], 1)] + [
    (f"{g} tile(s) a pass", in_passes(g), -(-max(tiles) // g)) for g in (1, 2, 4)]:
  d = done_at(order)
  print(f"{name:18s} tokens complete by 25/50/75/90% of GEMM 2's tiles: " +
        " ".join(f"{np.mean(d <= f) * 100:5.1f}%" for f in (0.25, 0.5, 0.75, 0.9)) + f"; weights read {reads}x")
