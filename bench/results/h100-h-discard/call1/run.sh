#!/usr/bin/env bash
# Sixty-ninth session, first call (H100). Branch wip/h-discard (cf17830: where y stays in L2, dynamic W4A4's h
# quantization kernel drops GEMM 1's FP32 h from L2 as it reads it) against main bf67fca, which an H200 measured
# level (h200-h-discard/): the H100's 50 MiB L2 cannot hold y and both forms of h at qwen3 512, so this is where it
# could pay. Both CLIs and the branch's layer GPU tests built on the CPU machine and carried (build-ab/clis.tar.xz,
# stripped). Beside them main with the y-in-L2 rule's lines moved (fp4moe-var: y and h within all of L2 instead of
# 80%, y at least 4% of the touched weights' bytes instead of 5%), which turns it on at qwen3 T=256 (4.9%) and T=640
# (y and h 95% of the H100's L2): the sixty-seventh session's lead. Then main's Python module, the Python GPU
# tests, and main's three official decode tables, owed on an H100 since the sixty-seventh session (y kept in L2).
source bench/device.sh && dev_init h100-h-discard
dev_module main . 12 &
dev_carried_gtest layer 200
wait
B=CLI=build-ab/fp4moe-base
N=CLI=build-ab/fp4moe-new
dev_env_ab y 3 "--shapes qwen3-30b-a3b --tokens 384,512 --mode w4a4 --kernels off --mem-gib 16" base=$B new=$N
dev_env_ab v 2 "--shapes qwen3-30b-a3b --tokens 256,640 --kernels off --mem-gib 16" base=$B var=CLI=build-ab/fp4moe-var
dev_env_ab vc 2 "--shapes qwen3-30b-a3b --tokens 256,640 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  base=$B var=CLI=build-ab/fp4moe-var
dev_print_ab
dev_pytest /tmp/mod-main
dev_official /tmp/mod-main "w4a16 w4a4 w4a4cal" decode
grep -h "| [18] |\|| 512 |" "$R"/official-*-decode/*.md 2>/dev/null | grep qwen3 | cut -d'|' -f2-9
dev_results
