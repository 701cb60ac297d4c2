#!/usr/bin/env bash
# Session 32, call 4: the overlapped consumer loop (overlap2.patch against main 1d2eeb1) where the one-CTA
# tiles run below prefill: main against it, W4A16, 512-2048 tokens, all shapes, both routings (the
# 64-token tile at 44-48 rows per expert, the 128-token one beyond and as the large tile of skewed
# batches), two alternating rounds; the tile hand-off off against on at prefill (FP4MOE_TILE_HANDOFF);
# compute-sanitizer racecheck and memcheck of the layer tests that run every compiled tile.
source bench/device.sh && dev_init call4
D=bench/results/h200-overlap-mtiles
dev_variant_patch main $D/overlap2.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
C="--modes w4a16 --tokens 512,768,1024,2048 --no-peer"
for r in 1 2; do dev_bench mm-$r /tmp/mod-main $C; dev_bench nm-$r /tmp/mod-new $C; done
dev_compare ab-mid.txt mm-1,mm-2 nm-1,nm-2
H="--modes w4a16 --tokens 4096,16384 --no-peer --skewed off --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2; do FP4MOE_TILE_HANDOFF=0 dev_bench h0-$r /tmp/mod-new $H; dev_bench h1-$r /tmp/mod-new $H; done
dev_compare ab-handoff.txt h1-1,h1-2 h0-1,h0-2
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.EdgeCases' > $R/san-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-memcheck.log
dev_results
