#!/usr/bin/env bash
# GEMM 1's cp.async token rows fenced for wgmma (fence.proxy.async) by the producer threads that
# copied them, kLandLag stages behind their copies (cp.async.wait_group), before they arrive on the
# stage's full barrier, instead of by every consumer warp after each stage's wait (a MEMBAR and a
# FENCE.VIEW.ASYNC in each consumer K loop: the twenty-seventh session's lead (2)). The working tree
# (producer-fence.patch against main) against main, built side by side; GPU tests of the new tree,
# racecheck of every compiled tile; 512, 4096 and 16384 tokens, all shapes, W4A16 and W4A4, two rounds.
source bench/device.sh && dev_init pf
D=bench/results/h200-producer-fence
dev_variant_patch main $D/producer-fence.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
dev_gtest kernel 120; dev_gtest layer 200
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
C="--modes w4a16,w4a4 --tokens 512,4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench m-$r /tmp/mod-main $C; dev_bench n-$r /tmp/mod-new $C; done
dev_compare ab.txt m-1,m-2 n-1,n-2
dev_results
