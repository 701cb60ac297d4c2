#!/usr/bin/env bash
# Sixteenth session, call 1: GEMM 2 persistent on the two-CTA wgmma tiles (wip/persistent-two-cta, the working tree:
# wt) against --persistent-down off on qwen3 (K = 768) at 256-640 tokens; ex (.ab/g55/ex-src: the K limit at 64 steps)
# against off on the long-K shapes. GPU tests (incl. wip/smem-limits, cherry-picked), sanitizers, repeats.
# carry [".ab/next73.sh", ".ab/g55"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g55
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
build() { (cd $2 && CMAKE_BUILD_PARALLEL_LEVEL=7 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$1 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$1 . > $R/build-$1.log 2>&1; echo "build $1 rc=$?"); }
run() { local name=$1 mod=$2 pd=$3; shift 3; s=$(date +%s); timeout 100 python3 bench/bench_moe.py --out-dir $R/$name --persistent-down $pd "$@" --fp4moe-path /tmp/mod-$mod > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
build wt . & build ex $N/ex-src &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|PersistentGemm2 \(|persistent GEMM 2" $R/test-*.log
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-layer-memcheck.log
wait; el "builds done"
Q="--modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 256,384,512,640 --no-peer --target-ms 40"
L="--modes w4a16 --shapes deepseek-v3,gpt-oss-120b,deepseek-v4-flash --tokens 512,1024 --skewed off --no-peer --target-ms 40"
for r in 1 2; do run q-off-$r wt off $Q; run q-on-$r wt on $Q; run l-off-$r wt off $L; run l-ex-$r ex on $L; done
PYTHONPATH=/tmp/mod-wt timeout 60 python3 $N/repeat3.py bench > $R/repeat.log 2>&1; el "repeat rc=$?"; tail -4 $R/repeat.log
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
