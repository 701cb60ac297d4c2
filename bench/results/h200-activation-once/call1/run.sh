#!/usr/bin/env bash
# GEMM 1's activation (alphas, biases) built once per tile in apply_form, before the store is chosen, and passed
# to the store, instead of each store building it (the part of decode-bias-forms.patch that call 1 of
# ../h200-decode-bias-forms/ measured but main e603414 left out: gpt-oss T=2 -2.5% there). It changes every GEMM 1
# kernel's code (PTX 370-780 lines shorter), so the A/B covers decode and prefill, W4A16, uniform, two rounds;
# the GPU tests of this tree (C++ and Python) run too, in case it lands.
source bench/device.sh && dev_init act
mkdir -p /tmp/tree-main && git archive e603414 | tar -x -C /tmp/tree-main
(cmake -S /tmp/tree-main -B /tmp/bmain -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bmain -j 3 --target fp4moe_cli) > "$R/build-main.log" 2>&1 &
dev_module new . 3 &
dev_gpu_test 400
wait
el "main cli: $(ls /tmp/bmain/src/cli/fp4moe)"
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --tokens 1,2,8,64,512,4096 --skewed off --kernels off --mem-gib 16"
for round in 1 2; do
  for side in main new; do
    b=/tmp/bmain/src/cli/fp4moe
    [ $side = new ] && b=/tmp/build-gpu/src/cli/fp4moe
    timeout 90 $b bench $ARGS --json $R/$side-r$round.json > $R/$side-r$round.txt 2>&1
    el "$side r$round rc=$?"
  done
done
dev_pytest /tmp/mod-new
cuobjdump -res-usage /tmp/bmain/libfp4moe.a 2>/dev/null | grep -A1 "gemm.*kernel" > "$R/res-main.txt"
cuobjdump -res-usage /tmp/build-gpu/libfp4moe.a 2>/dev/null | grep -A1 "gemm.*kernel" > "$R/res-new.txt"
dev_results
