#!/usr/bin/env bash
# Twentieth session, call 3: wip/epilogue-quantize 00ca827 (the working tree): x's quantization beside the plan,
# the fused epilogue's whole-tile stores. GPU tests, memcheck of the new tests, A/B: W4A4 calibrated against
# f76612b (.ab/g83/v2), W4A4 dynamic against main c8d78be (.ab/g83/mn); the W4A4 tables (calibrated and dynamic),
# Python GPU tests. carry [".ab/next110.sh", ".ab/g83"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g83
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn & b $N/v2 v2 &
for t in cuda_dispatch gpu_kernel gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -h "epilogue against kernel\|graph replay" $R/test-gpu_layer.log | head -50
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EpilogueQuantizationEqualsTheKernel:GpuGraph.*' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-layer-memcheck.log
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in v2 wt; do
  runm c-$m-$r $m --modes w4a4 --w4a4-scales calibrated --tokens 512,4096,16384 --skewed off --no-peer --target-ms 30
done; done
for r in 1 2; do for m in mn wt; do
  runm d-$m-$r $m --modes w4a4 --tokens 512,4096,16384 --skewed off --no-peer --target-ms 30
done; done
off() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-wt timeout 130 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
off official-w4a4cal-prefill --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
off official-w4a4-prefill --modes w4a4 --tokens 4096,16384 --skewed off
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
off official-w4a4cal-decode --modes w4a4 --w4a4-scales calibrated --tokens 1,8,64,512
off official-w4a4-decode --modes w4a4 --tokens 1,8,64,512
el end
