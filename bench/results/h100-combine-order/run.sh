#!/usr/bin/env bash
# Sixty-second session: the combine's grid one-dimensional with a token's 512-column slices as consecutive blocks
# (they launch side by side and read each 8 KB row of y whole at about the same time), against main ba0182a (the
# sources of ecdd969), whose grid had the tokens in x and the slices in y, so that a token's four slices (qwen3)
# launched 16384 blocks apart at 16384 tokens. The combine at qwen3 16384 reads 1.07 GB of y at 2.6-2.75 TB/s (copy
# 3.0, `../h100-qwen3-16384/`). Both CLIs and the new layer GPU tests built on the CPU machine for sm_90a and carried
# (build-ab/clis.tar.xz). The layer tests, then two alternating rounds of every benchmark shape at 1, 8, 512, 16384
# tokens (W4A16, per-kernel times), and mixtral at 64 tokens (GEMM 2 in K slices, which the combine adds).
source bench/device.sh && dev_init combine-order
tar -xJf build-ab/clis.tar.xz -C build-ab
timeout 120 build-ab/fp4moe_gpu_layer_tests > "$R/test-layer.log" 2>&1
el "layer tests rc=$?"
grep -E '^\[  (PASSED|FAILED)|FAILED  \]' "$R"/test-layer.log
dev_cli_ab 2 "--shapes all --tokens 1,8,512,16384 --skewed off --kernels on --mem-gib 16" all
dev_cli_ab 2 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 64 --skewed off --mem-gib 8" mixtral
for f in "$R"/ab-*.txt; do echo "== ${f##*/}"; grep -E '^\| [a-z]' "$f"; done
el end
