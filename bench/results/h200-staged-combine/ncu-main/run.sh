#!/usr/bin/env bash
# Nineteenth session, call 8: where main's (888b75c) staged GEMM 2 and GEMM 1 wait at qwen3 16384 tokens, W4A16:
# Nsight Compute, per-instruction samples. carry [".ab/next104.sh"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
(CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-main -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-main . > $R/build.log 2>&1)
el built
cd bench
for k in persistent_down grouped_gemm_nvfp4_wgmma; do
  PYTHONPATH=/tmp/mod-main timeout 200 ncu --set full --import-source no --kernel-name regex:$k --launch-skip 1 --launch-count 1 -o $R/$k python3 profile_one.py qwen3-30b-a3b 16384 --runs 2 > $R/ncu-$k.log 2>&1; el "ncu $k rc=$?"
  ncu -i $R/$k.ncu-rep --page source --csv --print-source sass > $R/$k-source.csv 2>/dev/null; gzip $R/$k-source.csv
  ncu -i $R/$k.ncu-rep --page details > $R/$k-details.txt 2>/dev/null
  python3 ncu_stalls.py $R/$k-source.csv.gz --top 30 > $R/$k-stalls.txt 2>&1; rm -f $R/$k.ncu-rep; el "$k stalls"
done
el end
