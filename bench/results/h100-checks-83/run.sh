#!/usr/bin/env bash
# Run in the eighty-third session (README.md): the eighty-second session's owed GPU runs in one call, from binaries
# built on the CPU machine and carried in build-ab/clis.tar.xz (sha256 3d8b1e48...: fp4moe-6fe = main 6fe65570's CLI,
# fp4moe-f2b = f2b5835b's, fp4moe-main = 2b948546's (78907a3d's code), fp4moe-discard and
# fp4moe_gpu_layer-discard_tests = branch wip/combine-discard-regs (704df912, on 59dbf704),
# fp4moe_gpu_layer-main_tests = 2b948546's). Rebuild them if main's source has moved.
#  1. the layer GPU tests of main and of the branch, memcheck / racecheck of y in L2;
#  2. 78907a3d (y in L2 past the L2) against f2b5835b, qwen3 768-1536,
#     calibrated W4A4 and W4A16;
#  3. main against 6fe65570 on seven public models' shapes, where the y-in-L2 lines apply unmeasured;
#  4. h100-combine-discard-regs/: the discarding combine at 54 registers against main, per-kernel times.
set -uo pipefail
source bench/device.sh && dev_init checks-83
dev_unpack_carried
dev_carried_gtest layer-main 300
dev_carried_gtest layer-main 200 '*YInL2*' memcheck
dev_carried_gtest layer-discard 200 '*YInL2*:*EdgeCases*'
dev_carried_gtest layer-discard 200 '*YInL2*' racecheck
CLI=build-ab/fp4moe-main
F=CLI=build-ab/fp4moe-f2b O=CLI=build-ab/fp4moe-6fe M=CLI=build-ab/fp4moe-main D=CLI=build-ab/fp4moe-discard
dev_env_ab past-cal 2 "--shapes qwen3-30b-a3b --tokens 768,1024,1536 --mode w4a4 --scales calibrated --kernels off" \
  f2b=$F main=$M
dev_env_ab past-w16 2 "--shapes qwen3-30b-a3b --tokens 768,1024,1536 --kernels off" f2b=$F main=$M
shape() {  # TAG E H I K TOKENS "ARGS"
  dev_env_ab "$1" 2 "--experts $2 --hidden $3 --intermediate $4 --top-k $5 --tokens $6 $7" old=$O main=$M
}
for mode in "w16:" "dyn:--mode w4a4"; do
  m=${mode%%:*} args="${mode#*:} --kernels off"
  shape "pub-$m-qwen3-235b" 128 4096 1536 8 48,64,128,256 "$args"
  shape "pub-$m-gpt-oss-20b" 32 2880 2880 4 128,256,1024,1536 "$args"
  shape "pub-$m-mixtral" 8 4096 14336 2 96,128,256,512 "$args"
  shape "pub-$m-llama4-scout" 16 5120 8192 1 256,512,1024 "$args"
  shape "pub-$m-kimi-k2" 384 7168 2048 8 32,64,128,192 "$args"
  shape "pub-$m-deepseek-v2-lite" 64 2048 1408 6 128,192,1024,1536 "$args"
  shape "pub-$m-dbrx" 16 6144 10752 4 64,128,256 "$args"
done
dev_env_ab disc-q 2 "--shapes qwen3-30b-a3b --tokens 256,512,768,1536 --kernels list" main=$M discard=$D
dev_env_ab disc-g 2 "--shapes gpt-oss-120b --tokens 128,256,512 --kernels list" main=$M discard=$D
dev_env_ab disc-d 2 "--shapes deepseek-v4-flash,deepseek-v3 --tokens 64,192 --kernels list" main=$M discard=$D
dev_env_ab disc-dyn 2 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 256,512 --mode w4a4 --kernels off" main=$M discard=$D
dev_print_ab
dev_results
