#!/usr/bin/env bash
# Sixteenth session, call 6: wip/persistent-direct (the working tree): GEMM 2's 128-token tile persistent on long K
# too, y stored directly. GPU tests, sanitizers, repeats, A/B against --persistent-down off, official prefill tables.
# carry [".ab/next78.sh", ".ab/g59"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g59
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
run() { local name=$1 pd=$2; shift 2; s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/$name --persistent-down $pd "$@" --fp4moe-path /tmp/mod-wt > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=12 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build rc=$?") &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|PersistentGemm2 \(|persistent GEMM 2" $R/test-*.log
timeout 120 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-layer-memcheck.log
wait; el "build done"
A="--modes w4a16,w4a4 --shapes deepseek-v3,gpt-oss-120b,deepseek-v4-flash --tokens 2048,4096,16384 --skewed off --no-peer --target-ms 40"
for r in 1 2; do run p-off-$r off $A; run p-on-$r on $A; done
PYTHONPATH=/tmp/mod-wt timeout 90 python3 $N/repeat3.py bench > $R/repeat.log 2>&1; el "repeat rc=$?"; tail -4 $R/repeat.log
for m in w4a16 w4a4; do s=$(date +%s); timeout 100 python3 bench/bench_moe.py --out-dir $R/official-$m-prefill --modes $m --tokens 4096,16384 --skewed off --fp4moe-path /tmp/mod-wt > $R/official-$m-prefill.out 2>&1; el "official $m prefill rc=$? in $(( $(date +%s) - s )) s"; done
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
