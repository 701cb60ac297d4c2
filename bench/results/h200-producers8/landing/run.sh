#!/usr/bin/env bash
# Eighteenth session, call 5: wip/producers8 (the working tree; two producer warpgroups in the 128-token tile only).
# GPU tests, sanitizers, Python GPU tests, a third A/B round against main d423b65 (.ab/g73/mn), W4A4 prefill A/B,
# then the official W4A16 prefill, W4A4 prefill and W4A16 decode tables. carry [".ab/next93.sh", ".ab/g73"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g73
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 120 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 90 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.LargeTilesOfSkewedBatches' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EdgeCases:GpuLayer.PersistentGemm2:GpuLayer.LargeTilesOfSkewedBatches' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-layer-memcheck.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 40 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 90 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for m in mn wt; do runm p-$m-3 $m --modes w4a16 --shapes all --tokens 4096,16384 --skewed off --no-peer --target-ms 40; done
for m in mn wt; do runm q-$m-1 $m --modes w4a4 --shapes all --tokens 4096,16384 --skewed off --no-peer --target-ms 40; done
off() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-wt timeout 130 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
off official-w4a16-prefill --modes w4a16 --tokens 4096,16384 --skewed off
off official-w4a4-prefill --modes w4a4 --tokens 4096,16384 --skewed off
off official-w4a16-decode --modes w4a16 --tokens 1,8,64,512
el end
