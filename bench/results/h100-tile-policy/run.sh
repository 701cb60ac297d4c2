#!/usr/bin/env bash
# Evict-first weight copies per tile (gemm/grouped_gemm.cu's tile_weights): only a tile whose expert one token block
# reads takes them. From binaries built on the CPU machine and carried in build-ab/clis.tar.xz: fp4moe-main = main
# 2b948546's CLI (main's kernels and rules), fp4moe-tile and fp4moe_gpu_{layer,kernel}-tile_tests = the change.
#  1. the change's kernel and layer GPU tests, memcheck and racecheck on tools/gpu-test.sh's cases;
#  2. against main: the few-expert public shapes whose skewed rows lost to y in L2 (h100-checks-83/), the benchmark
#     shapes' batches where y stays in L2 with wgmma tables, two public shapes that gained; W4A16 and dynamic W4A4.
set -uo pipefail
source bench/device.sh && dev_init tile-policy
dev_unpack_carried
dev_carried_gtest kernel-tile 300
dev_carried_gtest layer-tile 300
for tool in memcheck racecheck; do
  dev_carried_gtest layer-tile 300 'GpuGraph.*:GpuLayer.EdgeCases:GpuLayer.BenchmarkShapesWgmmaKernels:*YInL2*' $tool
done
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main T=CLI=build-ab/fp4moe-tile
shape() {  # TAG E H I K TOKENS "ARGS"
  dev_env_ab "$1" 2 "--experts $2 --hidden $3 --intermediate $4 --top-k $5 --tokens $6 $7" main=$M tile=$T
}
for mode in "w16:" "dyn:--mode w4a4"; do
  m=${mode%%:*} args="${mode#*:} --kernels off"
  shape "$m-llama4-scout" 16 5120 8192 1 256,512 "$args"
  shape "$m-mixtral" 8 4096 14336 2 96,128,512 "$args"
  shape "$m-dbrx" 16 6144 10752 4 64,128,256 "$args"
  shape "$m-gpt-oss-20b" 32 2880 2880 4 128,256 "$args"
  shape "$m-qwen3-235b" 128 4096 1536 8 128,256 "$args"
  dev_env_ab "$m-q" 2 "--shapes qwen3-30b-a3b --tokens 256,384,512,768 $args" main=$M tile=$T
  dev_env_ab "$m-g" 2 "--shapes gpt-oss-120b --tokens 128,256,512 $args" main=$M tile=$T
  dev_env_ab "$m-d" 2 "--shapes deepseek-v4-flash,deepseek-v3 --tokens 64,128,256 $args" main=$M tile=$T
done
dev_print_ab
dev_results
