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
# The sixtieth session (no machine lent either) added, also run here: route_on_device's topk_sigmoid (GpuRoute
# in step 1), `fp4moe run --tp 2` on the CUDA layer (cli_run_tp_cuda, step 1), and step 4: gpt-oss's MXFP4
# tiny checkpoint loaded directly (converted as it loads) on the CUDA layer, whole and as two ranks.
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
/tmp/build-gpu/tests/checkpoint/fp4moe_make_tiny_checkpoint /tmp/mx --gpt-oss-mxfp4 > /dev/null
$CLI run /tmp/mx/mxfp4 --layer 0 --tokens 40 > "$R/run-mxfp4.txt" 2>&1
el "MXFP4 checkpoint on the CUDA layer: rc=$?"
$CLI run /tmp/mx/mxfp4 --layer 0 --tokens 40 --tp 2 --mode w4a4 > "$R/run-mxfp4-tp2.txt" 2>&1
el "MXFP4 checkpoint as two ranks, W4A4, CUDA: rc=$?"
el end
