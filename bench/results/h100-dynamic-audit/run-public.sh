#!/usr/bin/env bash
# Not yet run. The y-in-L2 lines of f2b5835b and 78907a3d on public models' shapes, which no call measured: main
# 6fe65570's CLI (build-ab/fp4moe-base) against main ff65989e's or later (build-ab/fp4moe-new), both built on the CPU
# machine and carried (bench/device.sh says how), at the batches where `fp4moe kernels` differs between them, W4A16
# and dynamic W4A4, both routings, two rounds. The few-expert models (mixtral, llama4-scout, dbrx, gpt-oss-20b) have
# no large tiles, so a skewed batch's hot experts are read by several table CTAs with evict-first copies: the loss
# the large tiles showed (run-y-line.sh) could appear there.
set -uo pipefail
source bench/device.sh && dev_init y-public
dev_unpack_carried
CLI=build-ab/fp4moe-base
shape() {  # TAG E H I K TOKENS "ARGS"
  dev_cli_ab 2 "--experts $2 --hidden $3 --intermediate $4 --top-k $5 --tokens $6 $7" "$1"
}
for mode in "w16:" "dyn:--mode w4a4"; do
  m=${mode%%:*} args="${mode#*:} --kernels off"
  shape "$m-qwen3-235b" 128 4096 1536 8 48,64,128,256 "$args"
  shape "$m-gpt-oss-20b" 32 2880 2880 4 128,256,1024,1536 "$args"
  shape "$m-mixtral" 8 4096 14336 2 96,128,256,512 "$args"
  shape "$m-llama4-scout" 16 5120 8192 1 256,512,1024 "$args"
  shape "$m-kimi-k2" 384 7168 2048 8 32,64,128,192 "$args"
  shape "$m-deepseek-v2-lite" 64 2048 1408 6 128,192,1024,1536 "$args"
  shape "$m-dbrx" 16 6144 10752 4 64,128,256 "$args"
done
dev_print_ab
dev_results
