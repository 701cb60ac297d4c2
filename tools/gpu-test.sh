#!/usr/bin/env bash
# The GPU test command, for a machine with an NVIDIA GPU: builds with every core for the local
# architecture (CUDA_ARCHS, default 90a), runs the CTest label `gpu` verbosely (the tests print
# their error figures), then compute-sanitizer memcheck and racecheck on small cases, on the
# wgmma kernels at 16 rows per expert, where K spans many turns of their shared-memory ring, and on
# the device router.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
log_dir=${LOG_DIR:-$build}

# SKIP_BUILD: BUILD_DIR holds a build made elsewhere; BUILD_ONLY: build and stop (tools/carried-gpu-tests.sh, which
# carries a build made where there is no GPU).
if [ -z "${SKIP_BUILD:-}" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90a}" ${TEST_DIRS:+-DFP4MOE_TEST_DIRS="$TEST_DIRS"} >/dev/null
  cmake --build "$build" -j "$(nproc)" --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cli \
    fp4moe_make_tiny_checkpoint  # the BF16 checkpoints `fp4moe accuracy` runs on (cli_accuracy_cuda)
fi
[ -z "${BUILD_ONLY:-}" ] || exit 0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

status=0
ctest --test-dir "$build" -L gpu -V --timeout 300 >"$log_dir/gpu-ctest.log" 2>&1 || status=1
grep -E "rel_error|tests passed|tests failed|Failed|SKIPPED|\*\*\*" "$log_dir/gpu-ctest.log" || true

if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    # The layer tests' small cases and wgmma kernels; the device router's shared-memory rounds.
    log="$log_dir/sanitizer-$tool.log"
    if compute-sanitizer --tool "$tool" --error-exitcode 3 "$build/tests/cuda/fp4moe_gpu_layer_tests" \
        --gtest_filter='GpuGraph.*:GpuLayer.EdgeCases:GpuLayer.BenchmarkShapesWgmmaKernels' >"$log" 2>&1 &&
       compute-sanitizer --tool "$tool" --error-exitcode 3 "$build/tests/cuda/fp4moe_gpu_kernel_tests" \
        --gtest_filter='GpuRoute.*' >>"$log" 2>&1; then
      echo "compute-sanitizer $tool: clean ($(grep -c 'OK \]' "$log") tests)"
    else
      echo "compute-sanitizer $tool: FAILED"; tail -30 "$log"; status=1
    fi
  done
else
  echo "compute-sanitizer not found: sanitizer checks NOT run"; status=1
fi
exit $status
