#!/usr/bin/env bash
# Session 25, call 4: GPU tests of main 4ccb26c (max_gemm_tiles exact); the per-K-step diagnostic build.
export PYTHONUNBUFFERED=1 R=/tmp/R3
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/dg /tmp/mod-dg /tmp/mod-hd && mkdir /tmp/dg && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/dg && (cd /tmp/dg && patch -p1 -s < $OLDPWD/.ab/steps-diag.patch) && echo "diag tree ok"
(cd /tmp/dg && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-dg -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-dg . > $R/build-dg.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] diag build rc=$?") &
(CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-hd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-hd . > $R/build-hd.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] head module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j5 >> $R/cmake.log 2>&1); el "tests build rc=$?"
/tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-hd timeout 120 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -1 $R/test-python.log); el python
for s in qwen3-30b-a3b:1 qwen3-30b-a3b:2 gpt-oss-120b:1 deepseek-v4-flash:1; do
  shape=${s%:*}; T=${s#*:}; n=$shape-$T
  PYTHONPATH=/tmp/mod-dg timeout 120 python3 .ab/steps_run.py $shape $T > $R/st-$n.txt 2>&1; el "steps $n rc=$?"
  python3 .ab/steps.py $R/st-$n.txt > $R/st-$n-summary.txt 2>&1; head -60 $R/st-$n-summary.txt
  gzip $R/st-$n.txt
done
el end
