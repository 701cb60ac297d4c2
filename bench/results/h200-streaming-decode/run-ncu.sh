#!/usr/bin/env bash
# Session 28, call 3: Nsight Compute of the streaming decode kernels, qwen3 and deepseek-v3 at one token.
export PYTHONUNBUFFERED=1 R=/tmp/R3
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
(CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-sd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-sd . > $R/build-sd.log 2>&1); el "module build rc=$?"
for s in qwen3-30b-a3b deepseek-v3; do
  PYTHONPATH=/tmp/mod-sd timeout 120 ncu --set full --import-source no --kernel-name regex:streaming --launch-skip 2 --launch-count 2 -o $R/$s python3 bench/profile_one.py $s 1 > $R/ncu-$s.log 2>&1; el "ncu $s rc=$?"
  ncu -i $R/$s.ncu-rep --page details > $R/$s-details.txt 2>&1
  ncu -i $R/$s.ncu-rep --page source --csv --print-source sass > $R/$s-source.csv 2>/dev/null
  grep -E "streaming_decode|Duration|DRAM Throughput|Memory Throughput|Issue Slots Busy|Eligible Warps|Achieved Occupancy|Registers Per|Block Limit Shared" $R/$s-details.txt | head -40
  python3 bench/ncu_stalls.py $R/$s-source.csv --top 25 > $R/$s-stalls.txt 2>&1; head -60 $R/$s-stalls.txt
done
el end
