#!/usr/bin/env bash
# Session 26, call 4: the resident copy's sources resolved in the constructor (var) against c56cdac (hd) and main 596e511 (mn); GPU tests of var.
export PYTHONUNBUFFERED=1 R=/tmp/R4
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/hd /tmp/mn /tmp/mod-mn /tmp/mod-hd /tmp/mod-va && mkdir /tmp/hd && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/hd && (cd /tmp/hd && patch -R -p1 -s < $OLDPWD/.ab/var.patch) && cp -r /tmp/hd /tmp/mn && (cd /tmp/mn && patch -R -p1 -s < $OLDPWD/.ab/land.patch) && echo "trees ok"
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=4 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] $2 build rc=$?"); }
b /tmp/mn mn & b /tmp/hd hd & b . va &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j4 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2 --shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --skewed off --no-peer"
for r in 1 2 3; do runm mn-$r /tmp/mod-mn $AB; runm hd-$r /tmp/mod-hd $AB; runm va-$r /tmp/mod-va $AB; done
python3 bench/ab.py --compare $R/mn-1/nvidia-h200.json,$R/mn-2/nvidia-h200.json,$R/mn-3/nvidia-h200.json $R/hd-1/nvidia-h200.json,$R/hd-2/nvidia-h200.json,$R/hd-3/nvidia-h200.json > $R/ab-hd.txt 2>&1; cat $R/ab-hd.txt
python3 bench/ab.py --compare $R/hd-1/nvidia-h200.json,$R/hd-2/nvidia-h200.json,$R/hd-3/nvidia-h200.json $R/va-1/nvidia-h200.json,$R/va-2/nvidia-h200.json,$R/va-3/nvidia-h200.json > $R/ab-va.txt 2>&1; cat $R/ab-va.txt
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 170 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
(cd tests/python && PYTHONPATH=/tmp/mod-va timeout 90 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -1 $R/test-python.log); el python
timeout 60 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter="*KSplitTiles*" > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; tail -3 $R/san-racecheck.log
el end
