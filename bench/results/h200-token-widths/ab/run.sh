#!/usr/bin/env bash
# Seventeenth session, call 2: wip/token-widths (the working tree): the wgmmas take each tile's rows rounded up to a
# token width (quarter-tile steps) instead of half or whole. GPU tests (EveryCompiledTileShape's staircase routing hits
# every width), sanitizers, repeats, ncu of qwen3 T=512 GEMM 1, A/B against main (source in .ab/g64/main-src).
# carry [".ab/next83.sh", ".ab/g64"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g64
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build wt rc=$?") &
(cd $N/main-src && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-mn -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-mn . > $R/build-mn.log 2>&1; echo "build mn rc=$?") &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|EveryCompiledTileShape \(|PersistentGemm2 \(" $R/test-*.log
grep -h "every token width" $R/test-gpu_layer.log | awk '{print $NF}' | sort | tail -2
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.PersistentGemm2' > $R/san-layer-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-layer-racecheck.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.PersistentGemm2' > $R/san-layer-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-layer-memcheck.log
wait; el "builds done"
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
PYTHONPATH=/tmp/mod-wt timeout 80 python3 $N/repeat3.py bench > $R/repeat.log 2>&1; el "repeat rc=$?"; grep repeats $R/repeat.log
(cd bench && PYTHONPATH=/tmp/mod-wt timeout 60 ncu --clock-control none --set full --kernel-name-base demangled --kernel-name "regex:grouped_gemm.*GateUp" --launch-skip 2 --launch-count 1 -o $R/q512-GateUp python3 profile_one.py qwen3-30b-a3b 512 --runs 3 > $R/q512-GateUp.log 2>&1); el "ncu rc=$?"
ncu -i $R/q512-GateUp.ncu-rep --page details > $R/q512-GateUp-details.txt 2>&1; grep -E "^    Duration|DRAM Through|Issue Slots" $R/q512-GateUp-details.txt | head -3
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 90 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in mn wt; do
  runm d-$m-$r $m --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 256,384,512,640,768 --no-peer --target-ms 40
  runm e-$m-$r $m --modes w4a16,w4a4 --shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 512 --no-peer --target-ms 40
  runm p-$m-$r $m --modes w4a16 --shapes all --tokens 4096,16384 --skewed off --no-peer --target-ms 40
done; done
el end
