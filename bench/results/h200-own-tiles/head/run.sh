#!/usr/bin/env bash
# Session 23, call 4: main 643f78c (GEMM 1's first wave finds its own tiles): every GPU test binary, the
# Python GPU tests, memcheck of the layer's edge cases, graph replay and own-tile tests.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-ws -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-ws . > $R/build-ws.log 2>&1; echo "module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 200 /tmp/bt/tests/cuda/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 240 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EdgeCases:GpuLayer.OwnTiles*:GpuGraph.*' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"
grep -H "ERROR SUMMARY" $R/san-*.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-ws timeout 120 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
