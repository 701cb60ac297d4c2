#!/usr/bin/env bash
# Session 24, call 5: the one-token chain's phases again (diagnostic build held to main's CTAs per SM),
# and GEMM 2 alone with staged weights (FP4MOE_STAGED_WEIGHTS=0 against on).
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
rm -rf /tmp/g2-src && mkdir /tmp/g2-src && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/g2-src && (cd /tmp/g2-src && patch -R -p1 -s < $OLDPWD/.ab/diag.patch && patch -p1 -s < $OLDPWD/.ab/g2staged.patch) && echo "g2 tree ok"
(cd /tmp/g2-src && CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-g2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-g2 . > $R/build-g2.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] g2 build rc=$?") &
CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-tl -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-tl . > $R/build-tl.log 2>&1; el "diag build rc=$?"
for s in qwen3-30b-a3b:1 gpt-oss-120b:1 deepseek-v4-flash:1 qwen3-30b-a3b:2; do
  shape=${s%:*}; T=${s#*:}; n=$shape-$T
  PYTHONPATH=/tmp/mod-tl timeout 120 python3 .ab/tl_run.py $shape $T > $R/tl-$n.txt 2>&1; el "timeline $n rc=$?"
  python3 .ab/timeline.py $R/tl-$n.txt > $R/tl-$n-summary.txt 2>&1; echo "== $n"; sed -n '/^forward 2/,/^forward 3/p' $R/tl-$n-summary.txt | head -22
  gzip $R/tl-$n.txt
done
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-g2 timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 1,2,3,4 --skewed off --no-peer"
for r in 1 2; do FP4MOE_STAGED_WEIGHTS=0 runm off-$r $AB; FP4MOE_STAGED_WEIGHTS=1 runm on-$r $AB; done
python3 bench/ab.py --compare $R/off-1/nvidia-h200.json,$R/off-2/nvidia-h200.json $R/on-1/nvidia-h200.json,$R/on-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
el end
