#!/usr/bin/env bash
# Eighteenth session, call 8: wip/producers-gemm1 (the working tree): GEMM 2's 128-token tile back to one producer
# warpgroup (GEMM 1's keeps two). GPU tests, racecheck, A/B against main 4009b6a (.ab/g76/mn) on prefill, W4A16.
# carry [".ab/next96.sh", ".ab/g76"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g76
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 150 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 90 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 40 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 40 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in mn wt; do
  runm p-$m-$r $m --modes w4a16 --shapes all --tokens 4096,16384 --skewed off --no-peer --target-ms 30
done; done
el end
