#!/usr/bin/env bash
# Nineteenth session, call 3: where the staged combine's drain warps wait: Nsight Compute of GEMM 2 (staged form,
# combining) at qwen3 4096 tokens, W4A16. carry [".ab/next99.sh"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
ls /tmp/mod-wt >/dev/null 2>&1 || (CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1)
el built
cd bench
PYTHONPATH=/tmp/mod-wt timeout 200 ncu --set full --import-source no --kernel-name regex:persistent_down --launch-skip 1 --launch-count 1 -o $R/on python3 profile_one.py qwen3-30b-a3b 4096 --runs 2 > $R/ncu-on.log 2>&1; el "ncu rc=$?"
ncu -i $R/on.ncu-rep --page source --csv --print-source sass > $R/on-source.csv 2>/dev/null; gzip $R/on-source.csv
ncu -i $R/on.ncu-rep --page details --csv > $R/on-details.csv 2>/dev/null
python3 ncu_stalls.py $R/on-source.csv.gz --top 40 > $R/on-stalls.txt 2>&1; el stalls
rm -f $R/on.ncu-rep
FP4MOE_STAGED_COMBINE=0 PYTHONPATH=/tmp/mod-wt timeout 150 ncu --section SpeedOfLight --section WarpStateStats --kernel-name regex:persistent_down --launch-skip 1 --launch-count 1 python3 profile_one.py qwen3-30b-a3b 4096 --runs 2 > $R/ncu-off.txt 2>&1; el "ncu off rc=$?"
el end
