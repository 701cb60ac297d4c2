#!/usr/bin/env bash
# The decode kernels compiled once per bias form (decode-bias-forms.patch, the fifty-first session's lead for
# qwen3's 0.25 us at one token): the GPU tests of the patched tree (tools/gpu-test.sh, the Python GPU tests),
# then main 467d528's CLI against the patched tree's, four alternating rounds of qwen3's and gpt-oss's small
# batches without biases and with `--bias on`; the decode kernels' register counts of both sides.
source bench/device.sh && dev_init forms
mkdir -p /tmp/tree-main && git archive 467d528 | tar -x -C /tmp/tree-main
(cmake -S /tmp/tree-main -B /tmp/bmain -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bmain -j 4 --target fp4moe_cli) > "$R/build-main.log" 2>&1 &
dev_module new . 4 &
dev_gpu_test 330
wait
el "main cli: $(ls /tmp/bmain/src/cli/fp4moe)"
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 1,2,8,64 --skewed off --kernels off --mem-gib 16"
for round in 1 2 3 4; do
  for side in main new; do
    b=/tmp/bmain/src/cli/fp4moe
    [ $side = new ] && b=/tmp/build-gpu/src/cli/fp4moe
    for bias in off on; do
      timeout 60 $b bench $ARGS --bias $bias --json $R/$side-$bias-r$round.json > $R/$side-$bias-r$round.txt 2>&1
      el "$side bias=$bias r$round rc=$?"
    done
  done
done
dev_pytest /tmp/mod-new
for side in main new; do
  lib=$(ls /tmp/b$side/libfp4moe*.a /tmp/b$side/src/libfp4moe*.a 2>/dev/null | head -1)
  [ $side = new ] && lib=$(ls /tmp/build-gpu/libfp4moe*.a /tmp/build-gpu/src/libfp4moe*.a 2>/dev/null | head -1)
  cuobjdump -res-usage "$lib" 2>/dev/null | grep -A1 decode_gemm_kernel > "$R/res-$side.txt"
done
el "res usage: $(wc -l < $R/res-main.txt) / $(wc -l < $R/res-new.txt) lines"
dev_results
