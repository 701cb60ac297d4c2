#!/usr/bin/env bash
# Session 30, call 1: the 256-token wgmma tile (128 rows, two n128 wgmmas per dequantized fragment).
export PYTHONUNBUFFERED=1 R=/tmp/R1
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-w -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-w . > $R/build-w.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 120 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*WideTokenTiles*:*EveryCompiledTileShape*' > $R/test-wide.log 2>&1; el "wide tests rc=$?"
grep -E "Failure|error|PASSED|FAILED|OK \]" $R/test-wide.log | head -20
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-w timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
P="--modes w4a16 --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do runm p-t-$r $P; FP4MOE_GEMM=wgmma256-r128-w8-s6 runm p-w-$r $P; done
python3 bench/ab.py --compare $R/p-t-1/nvidia-h200.json,$R/p-t-2/nvidia-h200.json $R/p-w-1/nvidia-h200.json,$R/p-w-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
python3 - <<'PY' > $R/kernels.txt
import json,os
R=os.environ['R']
for tag in ['p-t-1','p-w-1','p-t-2','p-w-2']:
    d=json.load(open(f'{R}/{tag}/nvidia-h200.json'))
    for r in d['rows']:
        ks=' '.join(f"{k['name'].split('<')[0].split('::')[-1][:22]}={k['us_per_forward']:.0f}" for k in r['ours_kernels'][:3])
        print(tag, r['shape'][:8], r['tokens'], f"{r['ours_us']:.0f} gemm {r['ours_gemm_us']:.0f}", ks)
PY
cat $R/kernels.txt
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
rm -f $R/build-w.log $R/cmake.log; el end
