#!/usr/bin/env bash
# Session 25, call 5: per-lane L2 prefetch of the weights two ring depths ahead (every mma.sync tile) against main.
export PYTHONUNBUFFERED=1 R=/tmp/R4
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
rm -rf /tmp/mn /tmp/mod-mn /tmp/mod-pf && mkdir /tmp/mn && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/mn && (cd /tmp/mn && patch -R -p1 -s < $OLDPWD/.ab/l2pf.patch) && echo "main tree ok"
(cd /tmp/mn && CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-mn -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-mn . > $R/build-mn.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] main build rc=$?") &
CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 400 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-pf -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-pf . > $R/build-pf.log 2>&1; el "pf build rc=$?"
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2,8,64 --skewed off --no-peer"
for r in 1 2; do runm mn-$r /tmp/mod-mn $AB; runm pf-$r /tmp/mod-pf $AB; done
python3 bench/ab.py --compare $R/mn-1/nvidia-h200.json,$R/mn-2/nvidia-h200.json $R/pf-1/nvidia-h200.json,$R/pf-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
el end
