#!/usr/bin/env bash
# Nineteenth session, call 6: wip/staged-drain (the working tree): GEMM 2's staged y stored by the idle producer
# warps instead of bulk copies (no combine). GPU tests, sanitizers, Python GPU tests, A/B on qwen3 against main
# 4009b6a (.ab/g80/mn), then the official prefill tables. carry [".ab/next102.sh", ".ab/g80"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g80
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 100 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 100 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EveryCompiledTileShape' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-layer-memcheck.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 60 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in mn wt; do
  runm q-$m-$r $m --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 1024,2048,4096,16384 --skewed off --no-peer --target-ms 30
done; done
off() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-wt timeout 130 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
off official-w4a16-prefill --modes w4a16 --tokens 4096,16384 --skewed off
off official-w4a4-prefill --modes w4a4 --tokens 4096,16384 --skewed off
el end
