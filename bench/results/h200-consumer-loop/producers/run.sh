#!/usr/bin/env bash
# Session 27, call 3: the two-CTA wgmma tiles' producers keep their token chunks' sources in
# registers (nw) against main 775a131 (mn); GPU tests of nw; the official decode tables of mn.
export PYTHONUNBUFFERED=1 R=/tmp/R3
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mn /tmp/mod-mn /tmp/mod-nw && mkdir /tmp/mn && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/mn && (cd /tmp/mn && patch -R -p1 -s < $OLDPWD/.ab/x3.patch) && echo "trees ok"
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] $2 build rc=$?"); }
b /tmp/mn mn & b . nw &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 150 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
D="--modes w4a16,w4a4 --tokens 512 --skewed on --no-peer"
for r in 1 2; do runm d-mn-$r /tmp/mod-mn $D; runm d-nw-$r /tmp/mod-nw $D; done
python3 bench/ab.py --compare $R/d-mn-1/nvidia-h200.json,$R/d-mn-2/nvidia-h200.json $R/d-nw-1/nvidia-h200.json,$R/d-nw-2/nvidia-h200.json > $R/ab-d.txt 2>&1; cat $R/ab-d.txt
el ab
runm official-w4a16-decode /tmp/mod-mn --modes w4a16 --tokens 1,8,64,512
runm official-w4a4-decode /tmp/mod-mn --modes w4a4 --tokens 1,8,64,512
(cd tests/python && PYTHONPATH=/tmp/mod-nw timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -1 $R/test-python.log); el python
timeout 80 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter="*LargeTiles*" > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; tail -3 $R/san-racecheck.log
el end
