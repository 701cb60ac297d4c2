#!/usr/bin/env bash
# Prepared in the sixty-first session (its device time was spent), one call of about 8.5 minutes on an H100:
# 1. tools/gpu-test.sh on this tree: GpuLayer.CombineOfManySlots' K-slices case (291339c) has not run on a GPU, and
#    c5d619d's combine has not run under the sanitizers; the module of this tree builds beside it.
# 2. The six official commands (bench/results/README.md) on this tree: the top-level H100 tables are af69962's,
#    before c5d619d (every benchmark row 0.4-3.8% faster in h100-combine-loads/).
# Then copy official-*/ over the top-level nvidia-h100-80gb-hbm3-* tables if the tests passed.
source bench/device.sh && dev_init checks-61
dev_module head . 6 &
dev_gpu_test 420
wait
el "module: $(ls -d /tmp/mod-head/fp4moe 2>/dev/null || echo missing)"
dev_official /tmp/mod-head
el end
