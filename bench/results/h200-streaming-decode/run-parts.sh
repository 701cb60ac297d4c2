#!/usr/bin/env bash
# Session 28, call 4: the streaming decode kernels with one ring slot per item part (large bulk copies)
# (FP4MOE_STREAMING_DECODE=0), one build; their GPU tests.
export PYTHONUNBUFFERED=1 R=/tmp/R4
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-sd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-sd . > $R/build-sd.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests fp4moe_gpu_kernel_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
tail -5 $R/cmake.log
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*StreamingDecode*' > $R/test-streaming.log 2>&1; el "streaming test rc=$?"
grep -E "rel_error|Failure|Expected|Which|PASSED|FAILED|error" $R/test-streaming.log | head -60
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-sd timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
D="--modes w4a16 --tokens 1,2 --no-peer"
for r in 1 2; do FP4MOE_STREAMING_DECODE=0 runm d-off-$r $D; runm d-on-$r $D; done
python3 bench/ab.py --compare $R/d-off-1/nvidia-h200.json,$R/d-off-2/nvidia-h200.json $R/d-on-1/nvidia-h200.json,$R/d-on-2/nvidia-h200.json > $R/ab-d.txt 2>&1; cat $R/ab-d.txt
el ab
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
el end
for s in qwen3-30b-a3b deepseek-v3; do
  PYTHONPATH=/tmp/mod-sd timeout 120 ncu --set full --import-source no --kernel-name regex:streaming --launch-skip 2 --launch-count 2 -o $R/$s python3 bench/profile_one.py $s 1 > $R/ncu-$s.log 2>&1; el "ncu $s rc=$?"
  ncu -i $R/$s.ncu-rep --page details > $R/$s-details.txt 2>&1
  ncu -i $R/$s.ncu-rep --page source --csv --print-source sass > $R/$s-source.csv 2>/dev/null
  grep -E "streaming_decode|Duration|DRAM Throughput|Issue Slots Busy" $R/$s-details.txt | head -40
done
el end2
