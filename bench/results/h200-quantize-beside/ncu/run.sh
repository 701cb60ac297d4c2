#!/usr/bin/env bash
# Thirty-fifth session, call 5, a diagnostic: Nsight Compute of main's two fake-quantization kernels
# (x: BF16, h: FP32) at qwen3 16384 tokens, dynamic W4A4, the second forward's launches. Question: is
# the quantization bound by DRAM or by the SMs' issue (the kernel beside GEMM 2 moved only ~27 GB/s per
# SM, about what the standalone kernel moves per SM)?
source bench/device.sh && dev_init qncu
dev_module main . 16; el builds
(cd bench && PYTHONPATH=/tmp/mod-main timeout 120 ncu --clock-control none --section SpeedOfLight \
  --section SchedulerStats --section WarpStateStats --section Occupancy --section LaunchStats \
  --kernel-name regex:fake_quantize_kernel --launch-skip 2 --launch-count 2 -o $R/fq \
  python3 profile_one.py qwen3-30b-a3b 16384 --mode w4a4 --runs 2 > $R/fq.log 2>&1); el "ncu rc=$?"
ncu -i $R/fq.ncu-rep --page details > $R/fq-details.txt 2>&1
rm -f $R/fq.ncu-rep
grep -E "fake_quantize|^    Duration|SM Frequency|DRAM Throughput|Memory Throughput|Issue Slots Busy|Issued Warp|No Eligible|Warp Cycles Per Issued|Achieved Occupancy|Compute \(SM\)" $R/fq-details.txt | cut -c1-150 | head -40
el end
