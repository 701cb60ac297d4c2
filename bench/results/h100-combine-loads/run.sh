#!/usr/bin/env bash
# Sixty-first session, call 3: the combine with its slots' loads grouped eight at a time (combine.cuh's
# kCombineSlotsInFlight, c5d619d) against main af69962, whose per-slot loop (55f8f00's K slices) kept one 16-byte
# load of y in flight a thread. Both CLIs and the layer GPU tests of c5d619d built on the CPU machine for sm_90a and
# carried (build-ab/clis.tar.xz; a device start had failed three times, and its builds cost device time). The layer
# tests (CombineOfManySlots new), then two alternating rounds: every benchmark shape at 1, 8, 512, 16384 tokens (W4A16,
# per-kernel times), and mixtral at 64 tokens, where GEMM 2 runs in K slices and the combine adds them. (Cut to fit
# the session's last device minutes: qwen3 in dynamic W4A4 at 512 and 16384 was the third comparison.)
source bench/device.sh && dev_init combine-loads
tar -xJf build-ab/clis.tar.xz -C build-ab
timeout 120 build-ab/fp4moe_gpu_layer_tests > "$R/test-layer.log" 2>&1
el "layer tests rc=$?"
grep -E '^\[  (PASSED|FAILED)|FAILED  \]' "$R"/test-layer.log
dev_cli_ab 2 "--shapes all --tokens 1,8,512,16384 --skewed off --kernels on --mem-gib 16" all
dev_cli_ab 2 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 64 --skewed off --mem-gib 8" mixtral
for f in "$R"/ab-*.txt; do echo "== ${f##*/}"; grep -E '^\| [a-z]' "$f"; done
el end
