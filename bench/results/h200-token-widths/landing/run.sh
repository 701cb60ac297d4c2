#!/usr/bin/env bash
# Seventeenth session, call 4: wip/token-widths aa67a11 (the working tree): the official decode and prefill tables,
# and the 64-token tile forced against the table's 48-token one at 24-40 rows per expert (qwen3 384/512/640).
# carry [".ab/next85.sh"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; el "build rc=$?"
for m in w4a16 w4a4; do s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/official-$m-decode --modes $m --tokens 1,8,64,512 --fp4moe-path /tmp/mod-wt > $R/official-$m-decode.out 2>&1; el "official $m decode rc=$? in $(( $(date +%s) - s )) s"; done
for m in w4a16 w4a4; do s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/official-$m-prefill --modes $m --tokens 4096,16384 --skewed off --fp4moe-path /tmp/mod-wt > $R/official-$m-prefill.out 2>&1; el "official $m prefill rc=$? in $(( $(date +%s) - s )) s"; done
run() { local name=$1; shift; s=$(date +%s); timeout 60 python3 bench/bench_moe.py --out-dir $R/$name --fp4moe-path /tmp/mod-wt "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do
  run x-table-$r --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 384,512,640 --no-peer --target-ms 40
  run x-w64-$r --gemm wgmma64-r256-w8-s8 --modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 384,512,640 --no-peer --target-ms 40
done
el end
