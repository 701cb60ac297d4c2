#!/usr/bin/env bash
# Call 2: call 1's A/B, whose main side could not be built there (the device's .git lacks this session's commits).
# Both CLIs were built on the CPU machine (sm_90a) and carried: build-ab/fp4moe-main (main e603414) and
# build-ab/fp4moe-new (this branch). Three alternating rounds, W4A16 uniform, decode and prefill.
source bench/device.sh && dev_init act2
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --tokens 1,2,8,64,512,4096 --skewed off --kernels off --mem-gib 16"
for round in 1 2 3; do
  for side in main new; do
    timeout 60 build-ab/fp4moe-$side bench $ARGS --json $R/$side-r$round.json > $R/$side-r$round.txt 2>&1
    el "$side r$round rc=$?"
  done
done
