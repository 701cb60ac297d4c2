#!/usr/bin/env bash
# Fifty-third session, call 1: the GPU tests of this session's tree (main e1ff7c4 and the CUDA layer's
# BiasLayout), the Python GPU tests, and the first GPU run of `bench_moe.py --bias on`: gpt-oss (the shape whose
# checkpoints carry expert biases) at 1-4096 tokens, our layer with FP32 biases against the PyTorch peer with BF16
# ones, and the same command without biases beside it.
source bench/device.sh && dev_init head-53
dev_module head . 6 &
dev_gpu_test 430
wait
dev_pytest /tmp/mod-head
for bias in on off; do
  dev_bench gpt-oss-bias-$bias /tmp/mod-head --shapes gpt-oss-120b --modes w4a16 --tokens 1,8,64,512,4096 --bias $bias
done
grep -h "gpt-oss" "$R"/gpt-oss-bias-*/*.md | head -40
dev_results
