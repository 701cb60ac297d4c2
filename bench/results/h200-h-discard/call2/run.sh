#!/usr/bin/env bash
# Sixty-eighth session, second call, on the machine call 1 left warm (an H200): the GPU test command
# (tools/gpu-test.sh: CTest's gpu label, then memcheck and racecheck) on branch wip/h-discard, everything built
# here. The Python GPU tests and the W4A4 decode tables this folder planned for the call did not fit the 473 s of
# device time left; call 1 had run the decode tables.
source bench/device.sh && dev_init h-discard-2 && dev_gpu_test 420
dev_results
