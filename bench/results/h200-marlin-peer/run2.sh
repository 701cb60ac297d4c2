#!/usr/bin/env bash
# Fiftieth session, call 2: the same rows after the Marlin peer's SwiGLU became a vectorized kernel (16-byte
# loads, as vLLM's; call 1's scalar one took 97 us of Marlin's 1649 at qwen3's 4096 tokens), in both modes:
# vLLM runs NVFP4 checkpoints, W4A4 ones included, with Marlin W4A16 on Hopper.
source bench/device.sh && dev_init marlin-peer-2
dev_module head . 16
M=$PWD/build-marlin/libpeer_marlin.so
dev_bench decode /tmp/mod-head --tokens 1,8,64,512 --modes w4a16,w4a4 --marlin-lib $M
dev_bench prefill /tmp/mod-head --tokens 4096,16384 --skewed off --modes w4a16,w4a4 --marlin-lib $M
grep -h "ACCURACY\|ERROR" $R/*.out | head
dev_results
