#!/usr/bin/env bash
# Session 23, call 5: the combine reads its rows and weights before its wait (combine.patch) against main
# a2d0dc9 (the patch reversed): GPU tests of the change, then alternating rounds.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
P=$PWD/.ab/c5
rm -rf /tmp/mn; mkdir -p /tmp/mn
tar -c --exclude=./bench/results --exclude=./.ab --exclude=./.git . | tar -x -C /tmp/mn
(cd /tmp/mn && patch -R -p1 < $P/combine.patch) || exit 1
grep -c "ldcg(pair_rows" src/cuda/moe/combine.cu /tmp/mn/src/cuda/moe/combine.cu
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld /tmp/mn mn & bld $PWD ws &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EdgeCases:GpuGraph.*' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"
grep -H "ERROR SUMMARY" $R/san-*.log
wait; el builds
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
A="--modes w4a16 --tokens 4,8,64,512 --skewed off --no-peer"
B="--modes w4a4 --tokens 8,512 --skewed off --no-peer --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2 3; do runm mn m-$r $A; runm ws w-$r $A; runm mn m4-$r $B; runm ws w4-$r $B; done
j() { local p=$1; echo $R/$p-1/nvidia-h200.json,$R/$p-2/nvidia-h200.json,$R/$p-3/nvidia-h200.json; }
python3 bench/ab.py --compare $(j m) $(j w) > $R/ab.txt 2>&1; python3 bench/ab.py --compare $(j m4) $(j w4) >> $R/ab.txt 2>&1; cat $R/ab.txt
el end
