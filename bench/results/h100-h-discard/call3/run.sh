#!/usr/bin/env bash
# Sixty-ninth session, third call (H100): the landing tree (main bf67fca with the h discard of wip/h-discard and the
# y-in-L2 rule's lines moved to all of L2 and 4% of the weights, calls 1-2): the GPU test command on it
# (tools/gpu-test.sh, built here) beside its Python module; then the landing CLI against the same with the weight
# line at 2% (fp4moe-var2, which turns the rule on at qwen3 128-192 tokens, y 2.5-3.7% of the weights), both built
# on the CPU machine and carried, two alternating rounds; then the official dynamic W4A4 decode table (the one whose
# rows the h discard changes: qwen3 T=512), after the Python GPU tests.
source bench/device.sh && dev_init landing && dev_unpack_carried
dev_module land . 6 &
dev_gpu_test 420
wait
dev_env_ab l 2 "--shapes qwen3-30b-a3b --tokens 96,128,160,192,224 --kernels off --mem-gib 16" \
  land=CLI=build-ab/fp4moe-land var2=CLI=build-ab/fp4moe-var2 > /dev/null
dev_env_ab lc 2 "--shapes qwen3-30b-a3b --tokens 128,160,192 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  land=CLI=build-ab/fp4moe-land var2=CLI=build-ab/fp4moe-var2 > /dev/null
dev_print_ab
dev_pytest /tmp/mod-land
dev_official /tmp/mod-land w4a4 decode
grep -h "qwen3" "$R"/official-w4a4-decode/*.md | cut -d'|' -f2-9
dev_results
