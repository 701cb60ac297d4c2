#!/usr/bin/env bash
# Sixty-third session, H100, second call: the landing form, GEMM 1 finding its own tiles in W4A4 alone (call 1's
# change (b), h's quantization letting GEMM 2 launch first, lost at one token and is not in it), against main
# 3779d2f (the kernels of ba0182a). Both CLIs and the new layer GPU tests built on the CPU machine for sm_90a and
# carried (build-ab/clis.tar.xz). The layer tests, then every shape at 1-16 tokens (own tiles at qwen3 4-8,
# deepseek-v4-flash 3-4, deepseek-v3 2-3; the other rows are controls) in both W4A4 modes, three alternating
# rounds, and W4A16 (whose kernels took the new branch too), two; racecheck of the own-tile test last.
source bench/device.sh && dev_init w4a4-own-landing
dev_carried_gtest layer 200
a="--shapes all --tokens 1,2,3,4,6,8,16 --skewed off --kernels off --mem-gib 16"
dev_cli_ab_modes "$a"
dev_carried_gtest layer 150 'GpuLayer.OwnTilesAreThePlansTiles' racecheck
el end
