#!/usr/bin/env bash
# Sixteenth session, call 7: wip/persistent-w64 (the working tree): GEMM 2's 64-token one-CTA tile persistent on every
# K. GPU tests, sanitizers, repeats, A/B against --persistent-down off at 44-48 rows per expert. carry [".ab/next79.sh", ".ab/g60"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g60
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
run() { local name=$1 pd=$2; shift 2; s=$(date +%s); timeout 60 python3 bench/bench_moe.py --out-dir $R/$name --persistent-down $pd "$@" --fp4moe-path /tmp/mod-wt > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=12 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build rc=$?") &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|PersistentGemm2 \(|LargeTilesOfSkewedBatches \(" $R/test-*.log
timeout 100 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.LargeTilesOfSkewedBatches' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.LargeTilesOfSkewedBatches' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-layer-memcheck.log
wait; el "build done"
for r in 1 2; do for pd in off on; do
  run b-$pd-$r $pd --modes w4a16,w4a4 --shapes gpt-oss-120b,deepseek-v3 --tokens 1408,1536 --no-peer --target-ms 40
  run c-$pd-$r $pd --modes w4a16,w4a4 --shapes deepseek-v4-flash --tokens 1900,2048 --no-peer --target-ms 40
  run d-$pd-$r $pd --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 704,768 --no-peer --target-ms 40
done; done
PYTHONPATH=/tmp/mod-wt timeout 60 python3 $N/repeat3.py bench > $R/repeat.log 2>&1; el "repeat rc=$?"; tail -2 $R/repeat.log
el end
