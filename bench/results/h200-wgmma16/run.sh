#!/usr/bin/env bash
# Session 22, call 5: a 128-token wgmma tile of sixteen consumer warps (four warpgroups of one m-tile, four producer warps)
# against the table's eight-warp one, both forced (FP4MOE_GEMM), one build (the working tree).
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=10 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld $PWD nw &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests fp4moe_gpu_kernel_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*EveryCompiledTileShape*:*BenchmarkShapesWgmmaKernels*:*PersistentGemm2*' > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-nw timeout 200 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 4096,16384 --skewed off --no-peer"
for r in 1 2; do FP4MOE_GEMM=wgmma128-r256-w8-s8 runm o-$r $AB; FP4MOE_GEMM=wgmma128-r256-w16-s8 runm n-$r $AB; done
el end
