#!/usr/bin/env bash
# Call 2: the landing form. The decode kernels compiled with and without the bias code as in call 1 (decode-bias-
# forms.patch), but every other kernel as on main (PTX identical to main 467d528's: the grouped kernels keep
# main's one form, and GEMM 1's activation is built where main builds it). Its GPU tests (tools/gpu-test.sh with
# racecheck, cut by call 1's time limit; the Python GPU tests), then main 467d528's CLI against it, three
# alternating rounds of qwen3's and gpt-oss's small batches without biases and with `--bias on`; the decode
# kernels' register counts.
source bench/device.sh && dev_init forms2
mkdir -p /tmp/tree-main && git archive 467d528 | tar -x -C /tmp/tree-main
(cmake -S /tmp/tree-main -B /tmp/bmain -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bmain -j 3 --target fp4moe_cli) > "$R/build-main.log" 2>&1 &
dev_module new . 3 &
dev_gpu_test 440
wait
el "main cli: $(ls /tmp/bmain/src/cli/fp4moe)"
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 1,2,8,64 --skewed off --kernels off --mem-gib 16"
for round in 1 2 3; do
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
cuobjdump -res-usage /tmp/bmain/libfp4moe.a 2>/dev/null | grep -A1 decode_gemm_kernel > "$R/res-main.txt"
cuobjdump -res-usage /tmp/build-gpu/libfp4moe.a 2>/dev/null | grep -A1 decode_gemm_kernel > "$R/res-new.txt"
el "res usage: $(wc -l < $R/res-main.txt) / $(wc -l < $R/res-new.txt) lines"
dev_results
