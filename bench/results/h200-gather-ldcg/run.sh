#!/usr/bin/env bash
# Fortieth session, call 1. (a) The sorted-row copy reading x through L2 (ld.cg), as the combine reads
# the caller's data before its wait: main cbac09c (sorted_rows-main.cu) against the change, one build
# each, alternating, two rounds, on rows where GEMM 1 takes the sorted rows (gpt-oss-120b and
# deepseek-v4-flash at 512 and 4096 tokens, W4A16: the loads before the wait). (b) tools/gpu-test.sh on
# the change. (c) bench/kernel_timeline.py in its moved form (qwen3 T=512). (d) a diagnostic for the
# thirty-ninth session's lead: how many of the combine's reads of y at qwen3 T=512 come from DRAM
# (Nsight Compute, caches not flushed, the kernel right after the forward's GEMM 2).
source bench/device.sh && dev_init gather-ldcg
dev_variant old src/cuda/routing/sorted_rows.cu=bench/results/h200-gather-ldcg/sorted_rows-main.cu
dev_module old /tmp/tree-old 8 & dev_module new . 8 & wait; el builds
A="--shapes gpt-oss-120b,deepseek-v4-flash --tokens 512,4096 --skewed off --modes w4a16 --no-peer"
for r in 1 2; do dev_bench o-$r /tmp/mod-old $A; dev_bench n-$r /tmp/mod-new $A; done
dev_compare ab.txt o-1,o-2 n-1,n-2
dev_gpu_test 300
PYTHONPATH=/tmp/mod-new timeout 60 python3 bench/kernel_timeline.py qwen3-30b-a3b 512 > $R/timeline.txt 2>&1
el "timeline rc=$?"; cat $R/timeline.txt
ncu_combine() {  # ncu_combine NAME METRICS: the third forward's combine, one metric set (one pass)
  (cd bench && PYTHONPATH=/tmp/mod-new timeout 60 ncu --clock-control none --cache-control none \
    --kernel-name regex:combine_kernel --launch-skip 2 --launch-count 1 --metrics "$2" \
    python3 profile_one.py qwen3-30b-a3b 512 --mode w4a16 --runs 4 > $R/ncu-$1.txt 2>&1)
  el "ncu $1 rc=$?"; grep -E "combine_kernel|dram__|lts__|gpu__time|Pass" $R/ncu-$1.txt
}
ncu_combine dram dram__bytes_read.sum,gpu__time_duration.sum
ncu_combine l2 lts__t_sector_op_read_hit_rate.pct,lts__t_sectors_op_read.sum
dev_results
