#!/usr/bin/env bash
# Session 25, call 3: the module rebuilt into a fresh target (pip --target keeps an existing one), Python GPU tests, on/off A/B.
export PYTHONUNBUFFERED=1 R=/tmp/R2
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
rm -rf /tmp/mod-cc
CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-cc -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-cc . > $R/build-cc.log 2>&1; el "module build rc=$?"
(cd tests/python && PYTHONPATH=/tmp/mod-cc timeout 120 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -3 $R/test-python.log); el python
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-cc timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2 --skewed off --no-peer"
for r in 1 2 3; do runm off-$r $AB --cluster-combine off; runm on-$r $AB; done
python3 bench/ab.py --compare $R/off-1/nvidia-h200.json,$R/off-2/nvidia-h200.json,$R/off-3/nvidia-h200.json $R/on-1/nvidia-h200.json,$R/on-2/nvidia-h200.json,$R/on-3/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
el end
