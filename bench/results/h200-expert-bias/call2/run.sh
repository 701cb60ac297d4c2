#!/usr/bin/env bash
# Call 2, on the session's last tree: the GPU test command (tools/gpu-test.sh: CTest label gpu, memcheck and
# racecheck), the Python GPU tests against a module of this tree, memcheck on the bias tests, and whether
# call 1's +1.3% on qwen3's 1- and 8-token rows without biases (main 15.1 us, this tree 15.3) is the
# change's: main c2cf93e's CLI against this tree's, four alternating rounds of qwen3's and gpt-oss's small
# batches.
source bench/device.sh && dev_init bias2
mkdir -p /tmp/tree-main && git archive c2cf93e | tar -x -C /tmp/tree-main
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
    timeout 60 $b bench $ARGS --json $R/$side-r$round.json > $R/$side-r$round.txt 2>&1
    el "$side r$round rc=$?"
  done
done
dev_pytest /tmp/mod-new
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/build-gpu/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.ExpertsLoadedAgain*' > $R/memcheck-bias.log 2>&1
el "memcheck bias rc=$?: $(grep -E 'ERROR SUMMARY|PASSED|FAILED' $R/memcheck-bias.log | tr '\n' ' ')"
dev_results
