#!/usr/bin/env bash
# Session 24, call 2: Nsight Compute of the one-token decode kernels (main + split-waves, 4405021).
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg . > $R/build.log 2>&1; el "module build rc=$?"
prof() { # name shape T skip
  (cd bench && PYTHONPATH=/tmp/mod timeout 120 ncu --clock-control none --cache-control none --set full --import-source no --kernel-name-base demangled --kernel-name "regex:decode_gemm" --launch-skip $4 --launch-count 1 -o $R/$1 python3 profile_one.py $2 $3 --runs 3 > $R/$1.log 2>&1); el "ncu $1 rc=$?"
  ncu -i $R/$1.ncu-rep --page details > $R/$1-details.txt 2>&1
  grep -E "^    Duration|DRAM Through|Achieved Occ|Registers Per|Grid Size|Block Size|Issue Slots Busy|No Eligible" $R/$1-details.txt
  ncu -i $R/$1.ncu-rep --page source --csv --print-source sass > $R/$1-source.csv 2>/dev/null
  python3 bench/ncu_stalls.py $R/$1-source.csv --top 20 > $R/$1-stalls.txt 2>&1
}
prof q1-up qwen3-30b-a3b 1 2; prof q1-down qwen3-30b-a3b 1 3
head -75 $R/q1-up-stalls.txt; head -60 $R/q1-down-stalls.txt
prof g1-up gpt-oss-120b 1 2; prof g1-down gpt-oss-120b 1 3
prof d1-up deepseek-v4-flash 1 2; prof d1-down deepseek-v4-flash 1 3
gzip $R/*-source.csv; rm -f $R/*.ncu-rep
el end
