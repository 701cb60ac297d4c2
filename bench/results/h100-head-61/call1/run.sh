#!/usr/bin/env bash
# Sixty-first session, call 1, the first H100 lent in twenty sessions: main af69962 (the K-split rule of
# 55f8f00 not yet run on a GPU). tools/gpu-test.sh (the CTest label `gpu`, GpuLayer.GemmTwoInKSlices among
# them, then the sanitizers); beside it the Python module for call 2's official tables (the machine kept warm);
# then the rule against FP4MOE_GEMM2_K_SPLIT=0 on the few-expert models, one CLI, three alternating rounds.
source bench/device.sh && dev_init h100-61-call1
dev_module head . 6 &
dev_gpu_test 420
wait
el "module: $(ls -d /tmp/mod-head/fp4moe 2>/dev/null || echo missing)"
CLI=/tmp/build-gpu/src/cli/fp4moe
M="--skewed off --kernels off --mem-gib 8 --target-ms 60"
dev_env_ab mixtral 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 16,32,64,96,128,192 $M" \
  table= off=FP4MOE_GEMM2_K_SPLIT=0 > "$R/ab-mixtral.out" 2>&1
dev_env_ab grok 3 "--experts 8 --hidden 6144 --intermediate 32768 --top-k 2 --tokens 32,64,96,128 $M" \
  table= off=FP4MOE_GEMM2_K_SPLIT=0 > "$R/ab-grok.out" 2>&1
$CLI kernels --experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 16,32,64,96,128,192,256 \
  --device current > "$R/kernels-mixtral.txt" 2>&1
grep -hE "ours|mixtral|grok|^\|" "$R"/ab-mixtral-off.txt "$R"/ab-grok-off.txt 2>/dev/null | head -30
el end
