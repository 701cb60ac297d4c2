#!/usr/bin/env bash
# The wider rule's landing (GEMM 1 of both unsplit 8-token tiles held beside the hand-off from K 4608): `fp4moe kernels`
# of it and of the diagnostic CLI with FP4MOE_DIAG_BESIDE=1 are identical over 23 shapes x 21 batches x 3 modes, so
# call3/ is its A/B. Here main's GPU tests with it (carried in build-ab/clis.tar.xz, stripped): every kernel and layer
# test (the fewer-CTAs test's new case, 24/4608/2048/8 T=16, the two-m-tile tile at four beside the hand-off), and
# memcheck on the fewer-CTAs test.
source bench/device.sh && dev_init handoff-gemm1-landing && dev_unpack_carried
dev_carried_gtest layer 120 '*FewerCtas*'
dev_carried_gtest layer 120 '*FewerCtas*' memcheck
dev_carried_gtest kernel 100
dev_carried_gtest layer 200
dev_results
el done
