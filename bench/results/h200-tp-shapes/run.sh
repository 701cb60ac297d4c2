#!/usr/bin/env bash
# Prepared in the sixtieth session (no machine was lent), one call of about 6 minutes: how fast one rank of a
# tensor-parallel layer runs (moe/tensor_parallel.h). A rank is an ordinary layer of intermediate I/n, so
# `fp4moe bench` on that shape times it: its time against its own memory floor (the rank's weight bytes), per
# batch, uniform routing, W4A16. The dispatch table was drawn on the unsharded shapes; these show whether its
# lines hold where I/n is small (qwen3's 96 at TP 8) or K of GEMM 2 short. No PyTorch peer: bench_moe.py
# takes only the four benchmark shapes.
source bench/device.sh && dev_init tp
BT=/tmp/bt-tp dev_tests_build 16 fp4moe_cli
CLI=/tmp/bt-tp/src/cli/fp4moe
M="--tokens 1,8,64,512,4096 --skewed off --kernels off --mem-gib 8"
run_shape() {  # NAME E H I K
  timeout 150 $CLI bench --experts "$2" --hidden "$3" --intermediate "$4" --top-k "$5" $M \
    --json "$R/$1.json" > "$R/$1.txt" 2>&1
  el "$1 rc=$?"
}
run_shape qwen3-tp1 128 2048 768 8     # the unsharded layer, the same run's reference
run_shape qwen3-tp4 128 2048 192 8
run_shape qwen3-tp8 128 2048 96 8
run_shape dsv4-tp8 256 4096 256 6
run_shape gpt-oss-tp4 128 2880 720 4
run_shape dsv3-tp8 256 7168 256 8
gzip -f "$R"/*.json
el end
