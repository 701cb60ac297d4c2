#!/usr/bin/env bash
# Sixteenth session, call 5: GEMM 2's one-CTA 128-token tile persistent with its eight stages and y stored directly
# (dx: .ab/g58/dx-src, the K limit at 64 steps, so every shape) against main 87a3715 (wt: on = the three-stage staged
# form where K is short; off = --persistent-down off). carry [".ab/next77.sh", ".ab/g58"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g58
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
build() { (cd $2 && CMAKE_BUILD_PARALLEL_LEVEL=8 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$1 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$1 . > $R/build-$1.log 2>&1; echo "build $1 rc=$?"); }
run() { local name=$1 mod=$2 pd=$3; shift 3; s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/$name --persistent-down $pd "$@" --fp4moe-path /tmp/mod-$mod > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
build wt . & build dx $N/dx-src &
wait; el "builds done"
A="--modes w4a16,w4a4 --tokens 2048,4096,16384 --skewed off --no-peer --target-ms 40"
for r in 1 2; do run p-off-$r wt off $A; run p-on-$r wt on $A; run p-dx-$r dx on $A; done
el end
