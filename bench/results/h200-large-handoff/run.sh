#!/usr/bin/env bash
# Session 27, call 1: GEMM 2's large tiles take GEMM 1's as they finish, the 32-token mma.sync large
# tile where a GEMM has few 256-row blocks (qwen3), the expert-tile helpers (nw) against main d09be84 (mn).
export PYTHONUNBUFFERED=1 R=/tmp/R1
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mn /tmp/mod-mn /tmp/mod-nw && mkdir /tmp/mn && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/mn && (cd /tmp/mn && patch -R -p1 -s < $OLDPWD/.ab/x.patch) && echo "trees ok"
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] $2 build rc=$?"); }
b /tmp/mn mn & b . nw &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 150 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 120 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
Q="--modes w4a16,w4a4 --tokens 32,64,128 --shapes qwen3-30b-a3b --skewed on --no-peer"
B="--modes w4a16 --tokens 64,512 --shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --skewed on --no-peer"
for r in 1 2; do runm q-mn-$r /tmp/mod-mn $Q; runm q-nw-$r /tmp/mod-nw $Q; runm b-mn-$r /tmp/mod-mn $B; runm b-nw-$r /tmp/mod-nw $B; done
for g in q b; do python3 bench/ab.py --compare $R/$g-mn-1/nvidia-h200.json,$R/$g-mn-2/nvidia-h200.json $R/$g-nw-1/nvidia-h200.json,$R/$g-nw-2/nvidia-h200.json > $R/ab-$g.txt 2>&1; cat $R/ab-$g.txt; done
el ab
(PYTHONPATH=/tmp/mod-nw timeout 100 python3 .ab/repeat_check.py /tmp/mod-nw > $R/repeat.log 2>&1); el "repeat rc=$?"; cat $R/repeat.log
(cd tests/python && PYTHONPATH=/tmp/mod-nw timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -1 $R/test-python.log); el python
timeout 60 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter="*LargeTiles*" > $R/san-memcheck.log 2>&1; el "memcheck rc=$?"; tail -3 $R/san-memcheck.log
el end
