"""A Hugging Face style sparse MoE block (router -> softmax top-k -> experts, as in Mixtral and
Qwen3-MoE) whose experts run as the fp4moe custom op. The BF16 expert weights are quantized to
NVFP4 in the ModelOpt checkpoint convention, the block is compiled with torch.compile, and its
output is compared with a plain loop over experts in BF16, once with the original weights (the
error of the NVFP4 format) and once with the dequantized NVFP4 weights (the error of the kernels).
With --biases the experts' projections have biases, as gpt-oss's have (passed to the layer as
w13_bias and w2_bias, BF16, unquantized).

    python examples/hf_moe_block.py [--device cuda|cpu] [--tokens 64] [--biases]
"""

import argparse

import numpy as np
import torch

import fp4moe
from fp4moe.torch import Fp4MoE


def quantize_modelopt(w):
    """A BF16 [N, K] weight -> ModelOpt NVFP4: (weight uint8 [N, K/2], weight_scale E4M3 [N, K/16],
    weight_scale_2 = amax / (6 * 448), the inverse of the quantizer's global scale)."""
    w32 = w.float().cpu().numpy()
    global_scale = fp4moe.global_scale_from_amax(fp4moe.amax(w32))
    packed, scales = fp4moe.quantize_nvfp4(w32, global_scale)
    return packed, scales, np.float32(1.0 / global_scale)


class SparseMoeBlock(torch.nn.Module):
    """The Hugging Face block layout: `gate` is the router; experts hold gate/up/down projections."""

    def __init__(self, num_experts, hidden, intermediate, top_k, max_tokens, device):
        super().__init__()
        self.top_k = top_k
        self.gate = torch.nn.Linear(hidden, num_experts, bias=False, dtype=torch.bfloat16, device=device)
        self.experts = Fp4MoE(num_experts, hidden, intermediate, top_k, max_tokens, device=device)

    def load_expert_weights(self, gate_proj, up_proj, down_proj, biases=None):
        """gate_proj / up_proj [E, I, H], down_proj [E, H, I], BF16: quantized here per expert and
        projection, stacked as an inference engine stacks a checkpoint's tensors. biases: None, or the
        projections' BF16 biases (gate [E, I], up [E, I], down [E, H]), fused as vLLM fuses them:
        w13_bias [E, 2I] (gate then up) and w2_bias [E, H]."""
        w13, w13_scale, w13_scale_2, w2, w2_scale, w2_scale_2 = [], [], [], [], [], []
        for g, u, d in zip(gate_proj, up_proj, down_proj):
            (gq, gs, g2), (uq, us, u2), (dq, ds, d2) = map(quantize_modelopt, (g, u, d))
            w13.append(np.concatenate([gq, uq]))
            w13_scale.append(np.concatenate([gs, us]))
            w13_scale_2.append([g2, u2])  # gate and up keep their own scale
            w2.append(dq)
            w2_scale.append(ds)
            w2_scale_2.append(d2)
        bias_args = {}
        if biases is not None:
            gate_bias, up_bias, down_bias = biases
            bias_args = {"w13_bias": torch.cat([gate_bias, up_bias], dim=1), "w2_bias": down_bias}
        self.experts.load_weights(np.stack(w13), np.stack(w13_scale), np.array(w13_scale_2, np.float32),
                                  np.stack(w2), np.stack(w2_scale), np.array(w2_scale_2, np.float32), **bias_args)

    def forward(self, hidden_states):
        routing = torch.softmax(self.gate(hidden_states).float(), dim=-1)
        topk_weights, topk_ids = torch.topk(routing, self.top_k, dim=-1)
        topk_weights = topk_weights / topk_weights.sum(dim=-1, keepdim=True)  # norm_topk_prob
        return self.experts(hidden_states, topk_weights, topk_ids)


def nvfp4_round_trip(w):
    """What the layer computes with: the weight quantized as above and dequantized again."""
    packed, scales, scale_2 = quantize_modelopt(w)
    return torch.from_numpy(fp4moe.dequantize_nvfp4(packed, scales, scale_2)).to(w.device, torch.bfloat16)


def bf16_block(block, gate_proj, up_proj, down_proj, x, biases=None):
    """The same block with BF16 experts, looped as the Hugging Face reference implementation does
    (with biases: y_pair = down(act(gate(x) + b_gate, up(x) + b_up)) + b_down, times its weight)."""
    if biases is None:
        biases = [torch.zeros(w.shape[:2], dtype=x.dtype, device=x.device) for w in (gate_proj, up_proj, down_proj)]
    gate_bias, up_bias, down_bias = biases
    routing = torch.softmax(block.gate(x).float(), dim=-1)
    topk_weights, topk_ids = torch.topk(routing, block.top_k, dim=-1)
    topk_weights = topk_weights / topk_weights.sum(dim=-1, keepdim=True)
    y = torch.zeros_like(x, dtype=torch.float32)
    for e in range(gate_proj.shape[0]):
        tokens, slot = torch.nonzero(topk_ids == e, as_tuple=True)
        h = x[tokens]
        act = torch.nn.functional.silu(h @ gate_proj[e].T + gate_bias[e]) * (h @ up_proj[e].T + up_bias[e])
        y.index_add_(0, tokens, topk_weights[tokens, slot, None] * (act @ down_proj[e].T + down_bias[e]).float())
    return y.to(torch.bfloat16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() and fp4moe.cuda_available() else "cpu")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--biases", action="store_true", help="experts with biases, as gpt-oss's")
    args = parser.parse_args()
    num_experts, hidden, intermediate, top_k = 16, 512, 256, 4  # a small Qwen3-MoE-like layer

    torch.manual_seed(0)
    block = SparseMoeBlock(num_experts, hidden, intermediate, top_k, max_tokens=1024, device=args.device)
    scale = hidden ** -0.5
    gate_proj, up_proj = (torch.randn(num_experts, intermediate, hidden, device=args.device) * scale
                          for _ in range(2))
    down_proj = torch.randn(num_experts, hidden, intermediate, device=args.device) * intermediate ** -0.5
    gate_proj, up_proj, down_proj = (w.to(torch.bfloat16) for w in (gate_proj, up_proj, down_proj))
    biases = None
    if args.biases:
        biases = tuple((torch.randn(num_experts, n, device=args.device) * 0.5).to(torch.bfloat16)
                       for n in (intermediate, intermediate, hidden))
    block.load_expert_weights(gate_proj, up_proj, down_proj, biases)

    compiled = torch.compile(block, fullgraph=True)
    x = torch.randn(args.tokens, hidden, device=args.device, dtype=torch.bfloat16)
    with torch.no_grad():
        y = compiled(x)
        ref = bf16_block(block, gate_proj, up_proj, down_proj, x, biases)
        dequantized = [torch.stack([nvfp4_round_trip(w) for w in ws]) for ws in (gate_proj, up_proj, down_proj)]
        ref_nvfp4 = bf16_block(block, *dequantized, x, biases)
    rel = lambda a, b: ((a.float() - b.float()).norm() / b.float().norm()).item()
    print(f"{block.experts.layer}, workspace {block.experts.layer.workspace_bytes} bytes")
    print(f"{args.tokens} tokens on {args.device}{' with expert biases' if biases else ''}, "
          f"relative error of the fp4moe block against BF16 loops:")
    print(f"  with the original BF16 weights:    {rel(y, ref):.4f}  (the NVFP4 format's own error)")
    print(f"  with the dequantized NVFP4 weights: {rel(y, ref_nvfp4):.4f}  (the kernels' error)")


if __name__ == "__main__":
    main()
