#!/usr/bin/env bash
# Fifty-fifth session, call 5: the 32-token two-CTA tile from 7.5 rows per expert where both GEMMs' K are at least
# 2048 (moe/dispatch.h's for_long_k, long-k.patch) against main b67788f's table (the 16-token tile to 10 rows), both
# CLIs built here side by side, alternating, three rounds, W4A16, both routings, at 8-9 rows per expert (gpt-oss and
# deepseek-v3 T=256 and 288, deepseek-v4-flash T=341 and 384) and qwen3 at 8-9 rows (T=128, 144), which keeps its
# tile (the control).
source bench/device.sh && dev_init long-k
dev_variant_patch base bench/results/h200-band-audit-512/long-k.patch -R
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 8 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 8 fp4moe_cli
wait
export CLI_BASE=/tmp/bt-base/src/cli/fp4moe CLI_NEW=/tmp/bt/src/cli/fp4moe
dev_cli_ab 3 "--shapes gpt-oss-120b,deepseek-v3 --tokens 256,288 --kernels off --mem-gib 16" g
dev_cli_ab 3 "--shapes deepseek-v4-flash --tokens 341,384 --kernels off --mem-gib 16" d
dev_cli_ab 3 "--shapes qwen3-30b-a3b --tokens 128,144 --kernels off --mem-gib 16" q
el end
