#!/usr/bin/env bash
# Thirty-sixth session, call 3, a diagnostic: Nsight Compute (--set full, per-instruction stall samples)
# of the 512-token GEMMs on main d93fb6a (kernels of 2da4c6e): deepseek-v4-flash (12 rows per expert: the
# 32-token two-CTA wgmma tile, GEMM 2 persistent) and qwen3 (32 rows: the 48-token two-CTA tile), W4A16,
# uniform, the second forward's two wgmma launches. Question: where do the two-CTA tiles' consumer
# warps wait, with DRAM at about 74% and issue slots about half busy?
source bench/device.sh && dev_init t512ncu
dev_module main . 16; el builds
for row in "deepseek-v4-flash d512" "qwen3-30b-a3b q512"; do
  set -- $row
  (cd bench && PYTHONPATH=/tmp/mod-main timeout 200 ncu --set full --import-source no --clock-control none \
    --kernel-name regex:wgmma --launch-skip 2 --launch-count 2 -o $R/$2 \
    python3 profile_one.py $1 512 --runs 2 > $R/$2.log 2>&1); el "ncu $2 rc=$?"
  ncu -i $R/$2.ncu-rep --page details > $R/$2-details.txt 2>&1
  for k in 0 1; do
    ncu -i $R/$2.ncu-rep --page source --csv --print-source sass --launch-skip $k --launch-count 1 \
      > $R/$2-$k-source.csv 2>/dev/null
    python3 bench/ncu_stalls.py $R/$2-$k-source.csv --top 30 > $R/$2-$k-stalls.txt 2>&1
    gzip -f $R/$2-$k-source.csv
  done
  rm -f $R/$2.ncu-rep
  el "$2 exported"
done
grep -E "wgmma_kernel|^    Duration|DRAM Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Achieved Occupancy|SM Frequency" $R/*-details.txt | cut -c1-160 | head -60
head -12 $R/*-stalls.txt
el end
