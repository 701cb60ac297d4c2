#!/usr/bin/env bash
# Seventy-first session, H100: is the official prefill tables' drift against ba0182a's (ours +0.2..+8.1%, the peer's
# GEMMs -4..+9%, `../h100-checks-71/`) the machine or the code? The CLIs of ba0182a (the previous tables' code) and
# main d5192be, built on the CPU machine for sm_90a and carried (build-ab/clis.tar.xz as fp4moe-base and
# fp4moe-new), alternating on one machine: every benchmark shape at 4096 and 16384 tokens, uniform, two rounds in
# each mode (W4A16 with the per-kernel times).
source bench/device.sh && dev_init prefill-ab-71 && dev_unpack_carried
dev_cli_ab 2 "--tokens 4096,16384 --skewed off --kernels on --mem-gib 16" w4a16
dev_cli_ab 2 "--tokens 4096,16384 --skewed off --kernels off --mem-gib 16 --mode w4a4" dyn
dev_cli_ab 2 "--tokens 4096,16384 --skewed off --kernels off --mem-gib 16 --mode w4a4 --scales calibrated" cal
dev_print_ab
el done
