#!/usr/bin/env bash
# Thirty-sixth session, call 1: the GPU tests of main 2da4c6e (the thirty-fifth session's head, not run on
# a GPU), and GEMM 1's first CTAs prefetching their likely weights to L2 while the plan runs
# (plan-prefetch.patch), off against on in one build, two alternating rounds.
source bench/device.sh && dev_init call1
dev_variant_patch main bench/results/h200-plan-prefetch/plan-prefetch.patch -R
dev_module new . 6 & dev_module main /tmp/tree-main 5 & (cd /tmp/tree-main && BT=/tmp/bt-main dev_tests_build 5); wait
el builds
ARGS="--shapes all --tokens 16,32,64,128,512 --modes w4a16 --skewed on --no-peer"
for r in 1 2; do
  dev_bench off-$r /tmp/mod-new $ARGS --plan-prefetch off
  dev_bench on-$r /tmp/mod-new $ARGS --plan-prefetch on
done
dev_compare ab.txt off-1,off-2 on-1,on-2
dev_compare ab-gemm1.txt off-1,off-2 on-1,on-2 --kernel GateUp
export BT=/tmp/bt-main
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200
dev_pytest /tmp/mod-main; mv "$R/test-python.log" "$R/test-python-main.log"
dev_pytest /tmp/mod-new
dev_results
