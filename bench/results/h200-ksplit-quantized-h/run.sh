#!/usr/bin/env bash
# Sixty-sixth session (ran on an H200; README.md). Calibrated W4A4 on main a5752dc: GEMM 1's epilogue quantizes h
# everywhere, which on the grouped K-split GEMM 1 tiles (no tile hand-off there) drops GEMM 2's early weights after h's
# kernel along with the kernel (h100-mma-quantized-h/: gpt-oss T=4 +1.6%, deepseek-v4-flash T=2 +1.2%).
# FP4MOE_EPILOGUE_QUANTIZE=0 runs those rows as a rule keeping h's kernel there would: calibrated W4A4 on the batches
# whose GEMM 1 is a grouped K-split tile (qwen3 T=3, gpt-oss T=3-4, deepseek-v4-flash T=2, deepseek-v3 T=1) and their
# neighbours, one build, three alternating rounds.
source bench/device.sh && dev_init ksplit-quantized-h
dev_cli
a="--shapes all --tokens 1,2,3,4 --skewed off --mode w4a4 --scales calibrated --kernels off --mem-gib 16"
dev_env_ab cal 3 "$a" on= off=FP4MOE_EPILOGUE_QUANTIZE=0
dev_print_ab
dev_results
