#!/usr/bin/env bash
# Seventeenth session, call 5: wip/w48-c3 83896dc (the working tree): a 48-token, 128-row wgmma tile with three CTAs
# per SM (six consumer warpgroups per SM instead of four), forced against the table (the 48-token two-CTA tile) at
# 24-40 rows per expert. GPU tests first (EveryCompiledTileShape runs the new tile). carry [".ab/next86.sh", ".ab/g66"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g66
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=12 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build wt rc=$?") &
timeout 60 $N/bin/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.EdgeCases' > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -hE "^\[  (PASSED|FAILED)|FAILED|wgmma48-r128" $R/test-gpu_layer.log | head -12
wait; el "build done"
run() { local name=$1; shift; s=$(date +%s); timeout 60 python3 bench/bench_moe.py --out-dir $R/$name --fp4moe-path /tmp/mod-wt "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do
  run q-table-$r --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 384,512,640 --no-peer --target-ms 40
  run q-c3-$r --gemm wgmma48-r128-w8-s6-c3 --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 384,512,640 --no-peer --target-ms 40
  run l-table-$r --modes w4a16 --shapes gpt-oss-120b,deepseek-v3 --tokens 1024 --no-peer --target-ms 40
  run l-c3-$r --gemm wgmma48-r128-w8-s6-c3 --modes w4a16 --shapes gpt-oss-120b,deepseek-v3 --tokens 1024 --no-peer --target-ms 40
done
(cd bench && PYTHONPATH=/tmp/mod-wt FP4MOE_GEMM=wgmma48-r128-w8-s6-c3 timeout 60 ncu --clock-control none --set full --kernel-name-base demangled --kernel-name "regex:grouped_gemm.*GateUp" --launch-skip 2 --launch-count 1 -o $R/q512-c3-GateUp python3 profile_one.py qwen3-30b-a3b 512 --runs 3 > $R/q512-c3.log 2>&1); el "ncu rc=$?"
ncu -i $R/q512-c3-GateUp.ncu-rep --page details 2>/dev/null | grep -E "^    Duration|DRAM Through|Issue Slots|Achieved Occ" | head -4
el end
