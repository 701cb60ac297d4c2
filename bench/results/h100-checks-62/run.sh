#!/usr/bin/env bash
# Sixty-second session: h100-checks-61/run.sh in the order of what matters most, for a session whose device time
# went to failed starts (a call cut short by its limit still returns every finished step: `el`):
# 1. tools/gpu-test.sh on this tree (GpuLayer.CombineOfManySlots' K-slices case, 291339c, has not run on a GPU;
#    c5d619d's combine has not run under the sanitizers), the module of this tree built beside it;
# 2. the official commands (bench/results/README.md), W4A16 first, then the W4A4 prefill rows (#7's qwen3 16384
#    misses), then the W4A4 decode rows.
source bench/device.sh && dev_init checks-62
dev_module head . 6 &
dev_gpu_test 420
wait
el "module: $(ls -d /tmp/mod-head/fp4moe 2>/dev/null || echo missing)"
for run in w4a16:decode w4a16:prefill w4a4cal:prefill w4a4:prefill w4a4:decode w4a4cal:decode; do
  mode=${run%:*} regime=${run#*:}
  args="--modes ${mode%cal}"
  [ "$mode" = w4a4cal ] && args+=" --w4a4-scales calibrated"
  if [ "$regime" = prefill ]; then args+=" --tokens 4096,16384 --skewed off"; else args+=" --tokens 1,8,64,512"; fi
  dev_bench "official-$mode-$regime" /tmp/mod-head $args
  [ "$regime" = prefill ] && grep -H "qwen3.*| 16384 |" "$R/official-$mode-$regime"/*.md | cut -d'|' -f1-4,7,8,15,17
done
el end
