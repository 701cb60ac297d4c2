#!/usr/bin/env bash
# Fifty-sixth session, call 2, main a806a9a: the dispatch table was tuned on the four benchmark shapes. Here seven
# public MoE models' shapes (experts/hidden/intermediate/top-k, no biases, SiLU), W4A16, uniform, 1-512 tokens:
# the table against every compiled tile forced (FP4MOE_GEMM), one round, to find rows where a tile the table does
# not pick is clearly faster (a later call confirms any such row in alternating rounds).
source bench/device.sh && dev_init model-audit
dev_cli
sides=(table=)
for t in mma8-r64-w4-s8-d4-k2 mma8-r64-w4-s8-d4-k4 mma8-r64-w4-s8-d4 mma8-r128-w4-s8-d4 mma16-r128-w4-s4-d4 \
         mma32-r128-w4-s4-d2 wgmma32-r256-w8-s8-c2 wgmma48-r256-w8-s7-c2 wgmma64-r256-w8-s8 wgmma128-r256-w8-s8; do
  sides+=("$t=FP4MOE_GEMM=$t")
done
for spec in "qwen3-235b 128 4096 1536 8" "gpt-oss-20b 32 2880 2880 4" "mixtral-8x7b 8 4096 14336 2" \
            "glm-4.5-air 128 4096 1408 8" "kimi-k2 384 7168 2048 8" "deepseek-v2-lite 64 2048 1408 6" \
            "llama4-scout 16 5120 8192 1"; do
  read -r tag e h i k <<< "$spec"
  dev_env_ab "$tag" 1 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens 1,2,8,64,512 --skewed off \
--kernels off --mem-gib 24 --target-ms 60" "${sides[@]}" > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
el end
