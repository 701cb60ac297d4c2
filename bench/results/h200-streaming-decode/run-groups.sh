#!/usr/bin/env bash
# Session 28, call 6: the streaming decode kernels with each ring slot kept by one group of warps
# (sd, 8 consumer warps) and the same with 16 consumer warps (w16), against the decode kernels
# (FP4MOE_STREAMING_DECODE=0), W4A16 at one and two tokens.
export PYTHONUNBUFFERED=1 R=/tmp/R6
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/w16 && mkdir /tmp/w16 && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/w16 && (cd /tmp/w16 && patch -p1 -s < $OLDPWD/.ab/w16.patch) && echo "trees ok"
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] $2 build rc=$?"); }
b . sd & b /tmp/w16 w16 &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests -j4 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*StreamingDecode*' > $R/test-streaming.log 2>&1; el "streaming test rc=$?"
grep -E "Failure|PASSED|FAILED" $R/test-streaming.log | head
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
D="--modes w4a16 --tokens 1,2 --no-peer"
for r in 1 2; do FP4MOE_STREAMING_DECODE=0 runm d-off-$r /tmp/mod-sd $D; runm d-sd-$r /tmp/mod-sd $D; runm d-w16-$r /tmp/mod-w16 $D; done
for v in sd w16; do python3 bench/ab.py --compare $R/d-off-1/nvidia-h200.json,$R/d-off-2/nvidia-h200.json $R/d-$v-1/nvidia-h200.json,$R/d-$v-2/nvidia-h200.json > $R/ab-$v.txt 2>&1; cat $R/ab-$v.txt; done
grep -h "Error" $R/d-*.out | head -5
el end
