#!/usr/bin/env bash
# Session 30, call 2: qwen3-30b-a3b at 32-128 tokens (4 rows per expert at 64), W4A16: the table
# against the small-batch tiles forced, two alternating rounds; main 820c40b (kernels of ae6def1).
export PYTHONUNBUFFERED=1 R=/tmp/R2
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-m -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-m . > $R/build.log 2>&1; el "module build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-m timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
P="--shapes qwen3-30b-a3b --modes w4a16 --tokens 32,64,96,128 --no-peer --skewed on"
for r in 1 2; do
  runm t-$r $P
  FP4MOE_GEMM=mma8-r128-w4-s8-d4 runm a-$r $P
  FP4MOE_GEMM=mma8-r64-w4-s8-d4 runm b-$r $P
  FP4MOE_GEMM=mma16-r128-w4-s4-d4 runm c-$r $P
done
for v in a b c; do echo "== table vs $v"; python3 bench/ab.py --compare $R/t-1/nvidia-h200.json,$R/t-2/nvidia-h200.json $R/$v-1/nvidia-h200.json,$R/$v-2/nvidia-h200.json; done > $R/ab.txt 2>&1; cat $R/ab.txt
grep -h "Error" $R/*.out | head -5
rm -f $R/build.log; el end
