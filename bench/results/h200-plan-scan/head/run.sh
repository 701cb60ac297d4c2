#!/usr/bin/env bash
# Session 22, call 7: main 39aefae+ (the striped plan): GPU tests, the W4A16 tables and the calibrated W4A4 prefill table.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
grep -c owned_expert src/cuda/routing/plan.cu
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld $PWD mn &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 /tmp/bt/tests/cuda/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-mn timeout 90 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-mn timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
runm official-w4a16-prefill --modes w4a16 --tokens 4096,16384 --skewed off
runm official-w4a16-decode --modes w4a16 --tokens 1,8,64,512
runm official-w4a4cal-prefill --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
el end
