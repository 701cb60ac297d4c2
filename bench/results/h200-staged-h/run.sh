#!/usr/bin/env bash
# GEMM 1's BF16 h tile through the wgmma kernels' free ring (gemm/staged_h.cuh in staged-h.patch):
# transposing matrix stores (stmatrix.trans), then 16-byte stores of whole token rows, instead of one
# 2-byte store per value. W4A16 and the calibrated W4A4 quantizing epilogue; FP32 h (dynamic W4A4)
# unchanged. Also the GPU tests of main itself (head/: main e5c6b85's kernels had not run on a GPU).
# main and the patch built side by side; GPU tests of both (the layer tests compare h's consumers with
# the CPU reference on every compiled tile, and EpilogueQuantizationEqualsTheKernel bit for bit),
# racecheck of the patch; 512, 4096, 16384 tokens both modes and calibrated W4A4 prefill, two
# alternating rounds, whole layer and GEMM 1 alone (--kernel GateUp).
source bench/device.sh && dev_init sh
D=bench/results/h200-staged-h
dev_variant_patch new $D/staged-h.patch
dev_module main . 4 & dev_module new /tmp/tree-new 4 & (BT=/tmp/bt-main dev_tests_build 4) &
(cd /tmp/tree-new && dev_tests_build 4); wait; el builds
mkdir -p $R/head
BT=/tmp/bt-main; dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-main
mv $R/test-*.log $R/head/; unset BT
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-new
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
grep -HE '^\[  (PASSED|FAILED)|FAILED|tests? from .* ran' $R/head/test-*.log; tail -1 $R/head/test-python.log
C="--modes w4a16,w4a4 --tokens 512,4096,16384 --no-peer --skewed off"
K="--modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do
  dev_bench m-$r /tmp/mod-main $C; dev_bench n-$r /tmp/mod-new $C
  dev_bench mc-$r /tmp/mod-main $K; dev_bench nc-$r /tmp/mod-new $K
done
dev_compare ab.txt m-1,m-2 n-1,n-2
dev_compare ab-gemm1.txt m-1,m-2 n-1,n-2 --kernel GateUp
dev_compare ab-cal.txt mc-1,mc-2 nc-1,nc-2
dev_compare ab-cal-gemm1.txt mc-1,mc-2 nc-1,nc-2 --kernel GateUp
dev_results
