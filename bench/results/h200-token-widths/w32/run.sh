#!/usr/bin/env bash
# Seventeenth session, call 3: the token widths on the 32-token tile. Builds: main (mn), wip/token-widths 51ba569
# (wt, the working tree), and wt2 (the same without quarter widths on the 32-token tile: 16 or 32 as on main).
# gpt-oss, deepseek-v4-flash, deepseek-v3 at 384/512/768 tokens (9-24 rows per expert: the 32-token tile), two rounds,
# builds in turn. carry [".ab/next84.sh", ".ab/g65"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g65
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
b() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
b . wt & b $N/mn mn & b $N/wt2 wt2 & wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 80 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for m in mn wt wt2; do
  runm s-$m-$r $m --modes w4a16,w4a4 --shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 384,512,768 --no-peer --target-ms 30
done; done
el end
