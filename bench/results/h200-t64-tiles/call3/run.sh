#!/usr/bin/env bash
# Session 30, call 3: the crossover between the 8-token tiles and the 16-token tile (the table: 5
# rows per expert), at 6 and 7 rows on every shape, W4A16, both routings: the table against the two
# 8-token tiles forced (the wave rule picks between them), two alternating rounds; main 820c40b.
export PYTHONUNBUFFERED=1 R=/tmp/R3
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
[ -d /tmp/mod-m/fp4moe ] || { CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-m -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-m . > $R/build.log 2>&1; el "module build rc=$?"; }
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-m timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
one() {  # config round
  local tag=$1-$2
  runm $tag-q --shapes qwen3-30b-a3b --tokens 96,112 $C
  runm $tag-g --shapes gpt-oss-120b,deepseek-v3 --tokens 192,224 $C
  runm $tag-d --shapes deepseek-v4-flash --tokens 256,299 $C
}
C="--modes w4a16 --no-peer --skewed on"
for r in 1 2; do
  one t $r
  FP4MOE_GEMM=mma8-r128-w4-s8-d4 one a $r
  FP4MOE_GEMM=mma8-r64-w4-s8-d4 one b $r
done
for v in a b; do for s in q g d; do echo "== table vs $v ($s)"; python3 bench/ab.py --compare $R/t-1-$s/nvidia-h200.json,$R/t-2-$s/nvidia-h200.json $R/$v-1-$s/nvidia-h200.json,$R/$v-2-$s/nvidia-h200.json; done; done > $R/ab.txt 2>&1; cat $R/ab.txt | grep -v "^|---\|^| shape"
grep -h "Error" $R/*.out | head -5
rm -f $R/build.log; el end
