#!/usr/bin/env bash
# Nineteenth session, call 7: wip/quantize-stream (the working tree): the amax and fake-quantization kernels
# grid-stride over a resident grid, the next block's loads in flight. GPU tests, memcheck of the quantize tests,
# A/B on W4A4 against main 888b75c (.ab/g81/mn). carry [".ab/next103.sh", ".ab/g81"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g81
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 100 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuQuantize.*' > $R/san-quantize-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-quantize-memcheck.log
wait; el builds
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 80 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in mn wt; do
  runm p-$m-$r $m --modes w4a4 --shapes all --tokens 4096,16384 --skewed off --no-peer --target-ms 30
  runm d-$m-$r $m --modes w4a4 --shapes qwen3-30b-a3b,deepseek-v3 --tokens 8,64,512 --skewed off --no-peer --target-ms 30
done; done
el end
