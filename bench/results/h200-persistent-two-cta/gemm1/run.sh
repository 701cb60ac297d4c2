#!/usr/bin/env bash
# Sixteenth session, call 2: GEMM 1 persistent on every wgmma tile (wip/persistent-up, the working tree) against
# --persistent-up off, all four shapes, both modes, 512-16384 tokens. GPU tests (the persistent GEMM 1 runs wherever
# a wgmma tile does), sanitizers, repeats. carry [".ab/next74.sh", ".ab/g56"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g56
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
build() { (cd $2 && CMAKE_BUILD_PARALLEL_LEVEL=12 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$1 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$1 . > $R/build-$1.log 2>&1; echo "build $1 rc=$?"); }
run() { local name=$1 mod=$2 pu=$3; shift 3; s=$(date +%s); timeout 150 python3 bench/bench_moe.py --out-dir $R/$name --persistent-up $pu "$@" --fp4moe-path /tmp/mod-$mod > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
build wt . &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|PersistentGemm2 \(|EveryCompiledTileShape \(" $R/test-*.log
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases:GpuLayer.EveryCompiledTileShape' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.PersistentGemm2:GpuLayer.EdgeCases' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-layer-memcheck.log
wait; el "builds done"
A="--modes w4a16,w4a4 --tokens 512,2048,16384 --skewed off --no-peer --target-ms 40"
for r in 1 2; do run a-off-$r wt off $A; run a-on-$r wt on $A; done
PYTHONPATH=/tmp/mod-wt timeout 60 python3 $N/repeat3.py bench > $R/repeat.log 2>&1; el "repeat rc=$?"; tail -4 $R/repeat.log
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
