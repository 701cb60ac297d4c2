#!/usr/bin/env bash
# Session 24, call 3: the K-split decode tiles with staged weights (FP4MOE_STAGED_WEIGHTS), tests + A/B.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-st -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-st . > $R/build-st.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
ls /tmp/bt/tests/cuda/
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -E "Failure|error" -A3 $R/test-gpu_layer.log | head -30
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-st timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2,3,4 --skewed off --no-peer"
for r in 1 2; do FP4MOE_STAGED_WEIGHTS=0 runm off-$r $AB; FP4MOE_STAGED_WEIGHTS=1 runm on-$r $AB; done
python3 bench/ab.py --compare $R/off-1/nvidia-h200.json,$R/off-2/nvidia-h200.json $R/on-1/nvidia-h200.json,$R/on-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
(cd bench && PYTHONPATH=/tmp/mod-st timeout 60 ncu --clock-control none --cache-control none --set full --import-source no --kernel-name regex:decode_gemm --launch-skip 2 --launch-count 1 -o $R/q1-up python3 profile_one.py qwen3-30b-a3b 1 --runs 3 > $R/q1-up.log 2>&1); el "ncu rc=$?"
ncu -i $R/q1-up.ncu-rep --page details > $R/q1-up-details.txt 2>&1; grep -E "^    Duration|DRAM Through|Achieved Occ|Registers Per|Grid Size|Issue Slots Busy" $R/q1-up-details.txt; rm -f $R/q1-up.ncu-rep
el end
