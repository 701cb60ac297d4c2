#!/usr/bin/env bash
# Sixty-fourth session, H100, in place of run-lost.sh (whose machine stopped answering), with the 381 s of device
# time left: W4A4's decode forward without the kernel between its GEMMs (GEMM 1's last CTA fake-quantizes h), against
# main 3e4cfd1. Both CLIs and the new layer and kernel GPU tests built on the CPU machine and carried. The tests, then
# both W4A4 modes at 1-2 tokens, two alternating rounds, then W4A16 (whose kernels only gained arguments) one.
source bench/device.sh && dev_init w4a4-decode-h-in-gemm1
dev_carried_gtest layer 100
dev_carried_gtest kernel 60
a="--shapes all --tokens 1,2 --skewed off --mode w4a4 --kernels off --mem-gib 16"
dev_cli_ab 2 "$a" dyn
dev_cli_ab 2 "$a --scales calibrated" cal
dev_print_ab
dev_cli_ab 1 "--shapes all --tokens 1,2 --skewed off --mode w4a16 --kernels off --mem-gib 16" w16
dev_print_ab
dev_carried_gtest layer 60 'GpuLayer.EdgeCases' memcheck
el end
