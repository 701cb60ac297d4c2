#!/usr/bin/env bash
# Ready for the next session (compiled and its dispatch tests run here; not yet run on a GPU): the
# persistent GEMM 2's staged 128-token form with one producer warpgroup (the copying warp and three
# drain warps instead of seven), so that its consumers get 232 registers and take the overlapped
# consumer loop, which ptxas then pipelines (no C75xx, no spills); the persistent 64-token form takes it
# too (persistent-overlap.patch against main). GPU tests and racecheck of the new tree, then main
# against it, qwen3 (the shape whose K is short enough for the staged form), both modes and the
# calibrated W4A4, 768-16384 tokens, two alternating rounds.
source bench/device.sh && dev_init po
D=bench/results/h200-persistent-overlap
dev_variant_patch new $D/persistent-overlap.patch
dev_module main . 5 & dev_module new /tmp/tree-new 5 & (cd /tmp/tree-new && dev_tests_build 6); wait; el builds
dev_gtest kernel 120; dev_gtest layer 200
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='*PersistentGemm2*:GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
C="--shapes qwen3-30b-a3b --modes w4a16,w4a4 --tokens 768,1024,2048,4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench m-$r /tmp/mod-main $C; dev_bench n-$r /tmp/mod-new $C; done
dev_compare ab.txt m-1,m-2 n-1,n-2
K="--shapes qwen3-30b-a3b --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench mc-$r /tmp/mod-main $K; dev_bench nc-$r /tmp/mod-new $K; done
dev_compare ab-cal.txt mc-1,mc-2 nc-1,nc-2
dev_results
