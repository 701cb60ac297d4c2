#!/usr/bin/env bash
# Session 29, call 5: Nsight Compute of qwen3 T=1 (W4A16) with the fold (the build of call 4) and
# without it (FP4MOE_FOLD_DOWN=0): each decode kernel alone, launch statistics, occupancy, speed of light.
export PYTHONUNBUFFERED=1 R=/tmp/R5
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
rm -rf /tmp/mod-fd
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-fd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-fd . > $R/build-fd.log 2>&1; el "build rc=$?"
S="--section LaunchStats --section Occupancy --section SpeedOfLight --section WarpStateStats"
for v in on off; do
  E=""; [ $v = off ] && E="FP4MOE_FOLD_DOWN=0"
  env $E PYTHONPATH=/tmp/mod-fd timeout 120 ncu $S --kernel-name regex:decode --launch-skip 4 --launch-count 4 python3 bench/profile_one.py qwen3-30b-a3b 1 > $R/ncu-$v.txt 2>&1; el "ncu $v rc=$?"
  grep -E "decode_|Duration|Block Limit|Achieved Occupancy|Theoretical Occupancy|Dynamic Shared|Registers Per|Grid Size|Waves Per SM" $R/ncu-$v.txt | sed -E 's/\(fp4moe.*//' | head -60
done
el end
