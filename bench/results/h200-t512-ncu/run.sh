#!/usr/bin/env bash
# Thirty-sixth session, call 3, a diagnostic: Nsight Compute (--set full, per-instruction stall samples)
# of the 512-token GEMMs on main (kernels of 2da4c6e): deepseek-v4-flash (12 rows per expert: the 32-token
# two-CTA wgmma tile for both GEMMs) and qwen3 (32 rows: the 48-token two-CTA tile, GEMM 2 persistent),
# W4A16, uniform, the second forward's launch of each. Question: where do the two-CTA tiles' consumer
# warps wait, with DRAM at about 74% and issue slots about half busy?
source bench/device.sh && dev_init t512ncu
dev_module main . 16; el builds
profile() {  # SHAPE TAG KERNEL_REGEX
  (cd bench && PYTHONPATH=/tmp/mod-main timeout 150 ncu --set full --import-source no --clock-control none \
    --kernel-name-base demangled --kernel-name "regex:$3" --launch-skip 1 --launch-count 1 -o $R/$2 \
    python3 profile_one.py $1 512 --runs 2 > $R/$2.log 2>&1); el "ncu $2 rc=$?"
  ncu -i $R/$2.ncu-rep --page details > $R/$2-details.txt 2>&1
  ncu -i $R/$2.ncu-rep --page source --csv --print-source sass > $R/$2-source.csv 2>/dev/null
  python3 bench/ncu_stalls.py $R/$2-source.csv --top 30 > $R/$2-stalls.txt 2>&1
  gzip -f $R/$2-source.csv; rm -f $R/$2.ncu-rep
}
profile deepseek-v4-flash d512-up 'wgmma_kernel.*GateUp'
profile deepseek-v4-flash d512-down 'wgmma_kernel.*DownEpilogue'
profile qwen3-30b-a3b q512-up 'wgmma_kernel.*GateUp'
profile qwen3-30b-a3b q512-down 'persistent_down'
grep -E "^  [a-z_:]*wgmma|^    Duration|DRAM Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Achieved Occupancy|SM Frequency" $R/*-details.txt | cut -c1-150 | head -60
head -14 $R/*-stalls.txt
el end
