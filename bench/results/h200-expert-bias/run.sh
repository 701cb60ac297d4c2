#!/usr/bin/env bash
# Fifty-first session, call 1: expert biases (gpt-oss). Builds main's CLI (HEAD, without the change) and
# this tree's CLI and GPU test binaries side by side, runs the bias tests, then `fp4moe bench` on main,
# on this tree without biases (the kernels' cost of the change where no expert has one) and on this tree
# with --bias on, in alternation, two rounds.
source bench/device.sh && dev_init bias1
mkdir -p /tmp/tree-main && git archive HEAD | tar -x -C /tmp/tree-main
build() {  # SRC DIR TARGETS...
  local src=$1 dir=$2
  shift 2
  (cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
    cmake --build "$dir" -j 8 --target "$@") > "$R/build-${dir##*/}.log" 2>&1
  echo "build $dir rc=$?"
}
build /tmp/tree-main /tmp/bmain fp4moe_cli &
build . /tmp/bnew fp4moe_cli fp4moe_gpu_layer_tests fp4moe_gpu_kernel_tests fp4moe_cuda_dispatch_tests
wait
el builds
timeout 240 /tmp/bnew/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*Bias*' > $R/test-bias.log 2>&1
el "bias tests rc=$?: $(grep -E '^\[  (PASSED|FAILED)' $R/test-bias.log | tr '\n' ' ')"
ARGS="--shapes gpt-oss-120b,qwen3-30b-a3b,deepseek-v4-flash --tokens 1,8,64,512,4096 --skewed off --kernels off --mem-gib 16"
for round in 1 2; do
  timeout 100 /tmp/bmain/src/cli/fp4moe bench $ARGS --json $R/main-r$round.json > $R/main-r$round.txt 2>&1; el "main r$round rc=$?"
  timeout 100 /tmp/bnew/src/cli/fp4moe bench $ARGS --json $R/new-r$round.json > $R/new-r$round.txt 2>&1; el "new r$round rc=$?"
  timeout 100 /tmp/bnew/src/cli/fp4moe bench $ARGS --bias on --json $R/bias-r$round.json > $R/bias-r$round.txt 2>&1; el "bias r$round rc=$?"
done
cat $R/main-r2.txt $R/new-r2.txt $R/bias-r2.txt
