#!/usr/bin/env bash
# Thirty-fourth session, call 4, a diagnostic: Nsight Compute of GEMM 1 (the one-tile wgmma kernel,
# GateUp epilogue) at 4096 tokens, W4A16, in three builds: main 9b52613 (h through the ring), pre
# (e5c6b85's direct 2-byte stores: ../h200-staged-h/staged-h.patch reversed) and diag (main with W4A16's
# store alone in the epilogue: ../h200-gemm1-bf16-only/bf16-only-diag.patch, 2.0-7.7% slower than main
# though smaller). qwen3 (where the ring gained 3.4%) in all three, deepseek-v3 (where it lost 1.9%) in
# main and pre. Question: what do the stall reasons say moved?
source bench/device.sh && dev_init ncu
dev_variant_patch pre bench/results/h200-staged-h/staged-h.patch -R
dev_variant_patch diag bench/results/h200-gemm1-bf16-only/bf16-only-diag.patch
dev_module main . 5 & dev_module pre /tmp/tree-pre 5 & dev_module diag /tmp/tree-diag 5 & wait; el builds
prof() {  # prof NAME MODULE SHAPE
  (cd bench && PYTHONPATH=$2 timeout 100 ncu --clock-control none --set full --import-source no \
    --kernel-name regex:grouped_gemm_nvfp4_wgmma --launch-skip 2 --launch-count 1 -o $R/$1 \
    python3 profile_one.py $3 4096 --mode w4a16 --runs 3 > $R/$1.log 2>&1); el "ncu $1 rc=$?"
  ncu -i $R/$1.ncu-rep --page details > $R/$1-details.txt 2>&1
  ncu -i $R/$1.ncu-rep --page raw --csv > $R/$1-raw.csv 2>&1
  grep -E "^    Duration|SM Frequency|Issue Slots Busy|Executed Ipc Active|No Instruction|Warp Cycles Per Issued" $R/$1-details.txt | head -8
  rm -f $R/$1.ncu-rep
}
prof q-main /tmp/mod-main qwen3-30b-a3b
prof q-pre /tmp/mod-pre qwen3-30b-a3b
prof q-diag /tmp/mod-diag qwen3-30b-a3b
prof d-main /tmp/mod-main deepseek-v3
prof d-pre /tmp/mod-pre deepseek-v3
el end
