#!/usr/bin/env bash
# Nineteenth session, call 2: wip/staged-combine with the combine's loads prefetched into L2 (the working tree): the staged form combines in its idle
# producer warps. GPU tests, racecheck + memcheck of PersistentGemm2, on/off bit identity and repeats, A/B on
# qwen3 against the combine kernel (same build, FP4MOE_STAGED_COMBINE=0) and main 4009b6a (.ab/g78/mn).
# carry [".ab/next98.sh", ".ab/g78"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g78
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 100 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 120 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter=GpuLayer.PersistentGemm2 > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-layer-memcheck.log
wait; el builds
PYTHONPATH=/tmp/mod-wt timeout 60 python3 $N/combine_check.py bench > $R/combine-check.log 2>&1; el "check rc=$?"; cat $R/combine-check.log | grep -v Warn
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 60 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do
  runm q-on-$r wt --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 1024,2048,4096,16384 --skewed off --no-peer --target-ms 30
  runm q-off-$r wt --staged-combine off --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 1024,2048,4096,16384 --skewed off --no-peer --target-ms 30
  runm q-mn-$r mn --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 1024,2048,4096,16384 --skewed off --no-peer --target-ms 30
done
el end
