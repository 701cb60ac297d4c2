#!/usr/bin/env bash
# Twentieth session, call 5: land/epilogue-quantize 1c11c41 (the code to land; f7ab5b6's tree): GPU tests, the
# official W4A4 prefill tables (calibrated and dynamic) and the calibrated decode table, Python GPU tests.
# carry [".ab/next112.sh", ".ab/g85"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g85
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build rc=$?") &
for t in cuda_dispatch gpu_kernel gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -h "epilogue against kernel" $R/test-gpu_layer.log | head -20
wait; el build
off() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-wt timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
off official-w4a4cal-prefill --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
off official-w4a4-prefill --modes w4a4 --tokens 4096,16384 --skewed off
off official-w4a4cal-decode --modes w4a4 --w4a4-scales calibrated --tokens 1,8,64,512
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 50 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
