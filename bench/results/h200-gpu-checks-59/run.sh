#!/usr/bin/env bash
# Prepared in the fifty-ninth session (no machine was lent), one call of about 7 minutes: the GPU paths this
# session's CPU-only work added, which no GPU has run yet.
# 1. tools/gpu-test.sh on this tree: the CTest label `gpu` (now with cli_accuracy_cuda: `fp4moe accuracy` on the
#    tiny BF16 checkpoint with biases, every mode on the CUDA layer against its float64 reference) and the
#    sanitizers.
# 2. examples/cpp built against this build's installed library (install_find_package_example): on the GPU the
#    program runs the CUDA layer, and its forward replayed from a CUDA graph, where the CPU CI runs the CPU one;
#    and `fp4moe accuracy` on the NVFP4 tiny checkpoint (W4A4 against W4A16) on the CUDA layer.
# 3. fp4moe kernels --device current against the modeled Hopper (from h200-handoff-few-experts/diag.sh step 3,
#    which that call also runs): they must agree on a 132-SM Hopper.
source bench/device.sh && dev_init checks
dev_gpu_test 420
(ctest --test-dir /tmp/build-gpu -R 'install_find_package_example|cli_accuracy' --output-on-failure) \
  > "$R/ctest-example-accuracy.log" 2>&1
el "example and accuracy rc=$? ($(grep -c 'Passed' "$R/ctest-example-accuracy.log") passed)"
CLI=/tmp/build-gpu/src/cli/fp4moe
$CLI accuracy tests/data/tiny-nvfp4 --layer 1 --tokens 64 > "$R/accuracy-nvfp4.txt" 2>&1
el "accuracy on the NVFP4 tiny checkpoint, CUDA: rc=$?"
K="--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096"
$CLI kernels --device current $K > "$R/kernels-current.txt" 2>&1
$CLI kernels $K > "$R/kernels-model.txt" 2>&1
diff <(tail -n +2 "$R/kernels-current.txt") <(tail -n +2 "$R/kernels-model.txt") > "$R/kernels-diff.txt" &&
  el "kernels: the device's choices equal the model's" || el "kernels: choices differ (kernels-diff.txt)"
el end
