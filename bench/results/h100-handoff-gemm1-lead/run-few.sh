#!/usr/bin/env bash
# Call 2 (run in the eightieth session, 109 s: call2/ and the README). Call 1 measured
# the line on many-expert shapes (0.06-0.44 rows an expert): every held row gained and the unheld one stayed level.
# The rule landed (38feefe6: GEMM 1 of the one-m-tile tile, K at least 5120, within 1.5 waves) also holds GEMM 1 on
# shapes with several rows an expert, and on two K 5120-6144 shapes at T=4, which call 1 did not measure. `fp4moe
# kernels` of main and of the diagnostic CLI with FP4MOE_DIAG_BESIDE=1 are identical on every row below, so the
# diagnostic's off / on is main's rule off / on. First main's carried GPU test binaries, every test (the layer test's
# case beside the hand-off, 24/5120/2048/8 T=5, is owed its first GPU run), and memcheck on the fewer-CTAs test; then
# the A/B, two rounds, W4A16 and calibrated W4A4, shape by shape. A call cut short still returns the runs made (`el`
# packs each).
#
# Carried (build-ab/clis.tar.xz, git-ignored): fp4moe-diag (main 36fa30a + ../beside-diag.patch, target fp4moe_cli)
# and main 7c73d248's fp4moe_gpu_kernel_tests and fp4moe_gpu_layer_tests, stripped; rebuild them if main's src moved.
source bench/device.sh && dev_init handoff-gemm1-few && dev_unpack_carried
source bench/results/h100-handoff-gemm1-lead/beside-ab.sh
dev_carried_gtest kernel 150
dev_carried_gtest layer 200
dev_carried_gtest layer 120 '*FewerCtas*' memcheck
beside_ab_shapes "24-5120 24 5120 2048 8 5,8,12,14" "48-5120 48 5120 1024 6 16,24,32" "32-7168 32 7168 2048 4 8,10" \
                 "128-6144 128 6144 1536 8 4" "256-5120 256 5120 1536 8 4"
dev_results
beside_print
el done
