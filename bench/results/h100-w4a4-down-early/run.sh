#!/usr/bin/env bash
# Sixty-third session, H100, last call: the grouped mma.sync GEMM 2 after W4A4's h quantization reads its tile and
# streams its first weights before its wait (GemmOrder::kRowsAfterWait; h's quantization waited for GEMM 1 before it
# let GEMM 2 launch, so the plan is complete), against main 2cfe612 (c7eea8f's kernels). The eighth session's form
# of this for every GEMM 2 lost because its CTAs took SMs and bandwidth from GEMM 1's last wave; here GEMM 1 has
# ended when they launch. Both CLIs and the new layer GPU tests built on the CPU machine and carried. The layer
# tests, then both W4A4 modes at 2-128 tokens on every shape, two alternating rounds.
source bench/device.sh && dev_init w4a4-down-early
dev_carried_gtest layer 150
a="--shapes all --tokens 2,4,8,16,32,64,128 --mode w4a4 --kernels off --mem-gib 16"
dev_cli_ab 2 "$a" dyn
dev_cli_ab 2 "$a --scales calibrated" cal
dev_print_ab
dev_carried_gtest layer 60 'GpuGraph.RoutingOnTheDeviceFeedsTheForward' memcheck
el end
