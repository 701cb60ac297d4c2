#!/usr/bin/env bash
# The seventy-sixth session's lead (../h100-fewer-ctas-small/README.md): in W4A16 and calibrated W4A4, where GEMM 2
# runs beside GEMM 1 (the tile hand-off), GEMM 1 of the unsplit 8-token tiles held to one CTA fewer an SM gained on
# deepseek-v3 and kimi-k2 T=3 (K 7168, -5..-6%) and 160/5120/1536/6 T=5-6 (K 5120, -0.7..-1.5%) but lost on qwen3
# (K 2048), deepseek-v4-flash T=4 (K 4096) and 160/5120/1536/6 T=7 (1.73 waves). beside-diag.patch (applies to main
# 4d0b45b-36fa30a) adds FP4MOE_DIAG_BESIDE=1: that GEMM 1 held where K is above 4096 and its grid within 1.5 waves.
# This call tests whether the line holds on shapes it was not drawn from (K 5120-8192, one to 1.5 waves), in both
# hand-off modes; deepseek-v3 T=3 is the one row of the four shapes the line takes.
#
# With `checks` (seventy-seventh session), first main 36fa30a's GPU test binaries, built on the CPU machine and carried
# (build-ab/clis.tar.xz), every test, and memcheck and racecheck on tools/gpu-test.sh's cases: owed since 4d0b45b
# (one device_attribute helper) and for 8fcbfce (capped_smem_bytes keeps its answers; shared-memory limits only
# raised) and 36fa30a (whole touched experts); and the layer test binary of the rule as it would land (branch
# wip/beside-gemm1, carried as fp4moe_gpu_land_layer_tests) on its fewer-CTAs test (a case beside the hand-off added)
# and the other rule-off twins. Machines were scarce this session (device time lost to failed starts), so the
# binaries are carried rather than built there, and two rounds replace three.
#
# Before the call, on the CPU machine: git apply the patch in a worktree of main, build the target fp4moe_cli, strip
# it to /tmp/pack/fp4moe-diag, and the test binaries beside it; `tar -cf - -C /tmp/pack ... | xz -9e -T2 >
# build-ab/clis.tar.xz`; carry build-ab.
# Ran as call 1 (README.md). build-ab/clis.tar.xz now holds run-few.sh's binaries (no land_layer binary any more).
source bench/device.sh && dev_init handoff-gemm1-${1:-lean} && dev_unpack_carried
if [ "${1:-}" = checks ]; then
  dev_carried_gtest kernel 150
  dev_carried_gtest layer 200
  dev_carried_gtest land_layer 120 '*FewerCtas*:*RuleOff*'
  for tool in memcheck racecheck; do
    dev_carried_gtest layer 150 'GpuGraph.*:GpuLayer.EdgeCases:GpuLayer.BenchmarkShapesWgmmaKernels' $tool
    dev_carried_gtest kernel 60 'GpuRoute.*' $tool
  done
  dev_results
fi
source bench/results/h100-handoff-gemm1-lead/beside-ab.sh
for mode in w4a16 cal; do
  args=""; [ $mode = cal ] && args="--mode w4a4 --scales calibrated"
  dev_env_ab "dsv3-$mode" 2 "--shapes deepseek-v3 --tokens 3 $ROWS $args" $SIDES > /dev/null
  custom "kimik2-$mode" "$args" 384 7168 2048 8 3
  custom "160-5120-6-$mode" "$args" 160 5120 1536 6 5,6,7
  custom "160-5120-8-$mode" "$args" 160 5120 1536 8 4       # glm-4.5-like
  custom "64-6144-$mode" "$args" 64 6144 2048 8 3
  custom "128-5120-$mode" "$args" 128 5120 2048 8 3
  custom "256-7168-$mode" "$args" 256 7168 2048 8 3
  custom "64-8192-$mode" "$args" 64 8192 2048 4 6,7
done
beside_print
el done
