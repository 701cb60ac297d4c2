#!/usr/bin/env bash
# Sixteenth session, call 4: main 9561e80 (the working tree): GPU tests, the official decode and prefill tables, and a
# repeat of the two-CTA persistent GEMM 2 A/B on qwen3 W4A16 (on another machine than call 1).
# carry [".ab/next76.sh", ".ab/g57"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g57
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
run() { local name=$1 pd=$2; shift 2; s=$(date +%s); timeout 100 python3 bench/bench_moe.py --out-dir $R/$name --persistent-down $pd "$@" --fp4moe-path /tmp/mod-wt > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=12 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build rc=$?") &
for t in gpu_kernel cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|PersistentGemm2 \(" $R/test-*.log
wait; el "build done"
for m in w4a16 w4a4; do s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/official-$m-decode --modes $m --tokens 1,8,64,512 --fp4moe-path /tmp/mod-wt > $R/official-$m-decode.out 2>&1; el "official $m decode rc=$? in $(( $(date +%s) - s )) s"; done
for m in w4a16 w4a4; do s=$(date +%s); timeout 120 python3 bench/bench_moe.py --out-dir $R/official-$m-prefill --modes $m --tokens 4096,16384 --skewed off --fp4moe-path /tmp/mod-wt > $R/official-$m-prefill.out 2>&1; el "official $m prefill rc=$? in $(( $(date +%s) - s )) s"; done
Q="--modes w4a16 --shapes qwen3-30b-a3b --tokens 256,384,512,640 --no-peer --target-ms 40"
for r in 1 2; do run q-off-$r off $Q; run q-on-$r on $Q; done
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
