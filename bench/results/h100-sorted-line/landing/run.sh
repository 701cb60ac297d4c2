#!/usr/bin/env bash
# Seventieth session, H100: the landing form of the sorted-row copy's line (branch wip/sorted-rows-line: GEMM 1 reads
# sorted rows from 24 pairs per local expert; the workspace holds the copy only where the largest batch reaches it)
# against main 3797ddd. Both CLIs and the branch's three GPU test binaries built on the CPU machine and carried. The
# branch's GPU tests (dispatch, kernel, layer; the layer's sorted-row, large-tile and edge cases under memcheck), then
# three alternating rounds of the rows whose choice changes (384-768 tokens, and 896 on deepseek-v4-flash) and of
# two that keep it (1024), every mode.
source bench/device.sh && dev_init sorted-landing && dev_unpack_carried
dev_carried_gtest dispatch 60
dev_carried_gtest kernel 150
dev_carried_gtest layer 240
dev_carried_gtest layer 200 'GpuLayer.SortedRowsEqualTheGather:GpuLayer.LargeTilesOfSkewedBatches:GpuLayer.EdgeCases' memcheck
s="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --kernels off --mem-gib 16"
B=CLI=build-ab/fp4moe-base
N=CLI=build-ab/fp4moe-new
dev_env_ab w 3 "$s --tokens 384,512,640,768,1024" base=$B new=$N > /dev/null
dev_env_ab c 2 "$s --tokens 512 --mode w4a4 --scales calibrated" base=$B new=$N > /dev/null
dev_env_ab d 2 "$s --tokens 512 --mode w4a4" base=$B new=$N > /dev/null
dev_print_ab
dev_results
