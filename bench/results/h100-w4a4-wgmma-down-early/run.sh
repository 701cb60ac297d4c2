#!/usr/bin/env bash
# Sixty-fourth session, H100: the wgmma GEMM 2 (one CTA per tile and persistent) after dynamic W4A4's h quantization
# issues its first stages' weight copies before its wait and its token rows after it (GemmOrder::kRowsAfterWait),
# as the mma.sync GEMM 2 has since e7461d0, against main 3e4cfd1. Both CLIs and the new layer GPU tests built on
# the CPU machine and carried (build-ab/clis.tar.xz). The layer tests first, then dynamic W4A4 on every shape at
# 256-16384 tokens, uniform (the batches with this order: no large tiles, h quantized by a kernel), three
# alternating rounds; calibrated W4A4 at 4096 once a side (its wgmma GEMM 1 quantizes h, so it must be level).
source bench/device.sh && dev_init w4a4-wgmma-down-early
dev_carried_gtest layer 240
a="--shapes all --tokens 256,512,4096,16384 --skewed off --mode w4a4 --kernels off --mem-gib 16"
dev_cli_ab 3 "$a" dyn
dev_cli_ab 1 "--shapes all --tokens 512,4096 --skewed off --mode w4a4 --scales calibrated --kernels off --mem-gib 16" cal
dev_print_ab
el end
