#!/usr/bin/env bash
# Sixty-third session, H100: W4A4's decode GEMM 1 builds its plan and streams its first weights before it waits for
# x's quantization (which waited for the forward's predecessor before it let GEMM 1 launch), as GEMM 2 does before
# h's; W4A16's GEMM 1, the forward's first kernel, still waits first. Against main 07c8641. Both CLIs and the new
# layer GPU tests built on the CPU machine for sm_90a and carried (build-ab/clis.tar.xz). The layer tests (the device
# router's graph test now in W4A4 too, with decode batches and own tiles), the sanitizers on the graph tests, then
# every shape at 1, 2 and 4 tokens (the decode kernels at 1-2, the control at 4) in both W4A4 modes, three alternating
# rounds, and W4A16 (unchanged kernels) two.
source bench/device.sh && dev_init w4a4-decode-early
dev_carried_gtest layer 200
a="--shapes all --tokens 1,2,4 --skewed off --kernels off --mem-gib 16"
dev_cli_ab_modes "$a"
dev_carried_gtest layer 150 'GpuGraph.*:GpuLayer.EdgeCases' memcheck
dev_carried_gtest layer 150 'GpuGraph.*' racecheck
el end
