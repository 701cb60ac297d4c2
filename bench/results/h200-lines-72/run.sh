#!/usr/bin/env bash
# Seventy-second session, H200 (run with carry ["build-ab"], needs_h200): h200-lines-69/run.sh as prepared (the
# sorted-row copy, the y-in-L2 lines and the large tiles on main 3797ddd's CLI, fp4moe-base), its results kept as
# $OUT/r69.tgz; then the large tiles' new line (kLargeTileMinTableWaves, measured on an H100 in
# h100-large-tiles-few-experts/) on this device: the new CLI (fp4moe-new) against main 1e2c861's (fp4moe-main) on
# 32/4096/2048/4 and gpt-oss-20b at 128-384 tokens, W4A16, two rounds, gpt-oss-120b at 512 as the control.
bash bench/results/h200-lines-69/run.sh "${1:-}"
cp "$OUT/r.tgz" "$OUT/r69.tgz"
source bench/device.sh && dev_init h200-large && dev_unpack_carried
CLI_BASE=build-ab/fp4moe-main
ROWS="--tokens 128,224,384 --kernels off --mem-gib 16"
dev_cli_ab 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 $ROWS" c32 > /dev/null
dev_cli_ab 2 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 $ROWS" oss20 > /dev/null
dev_cli_ab 2 "--shapes gpt-oss-120b --tokens 512 --kernels off --mem-gib 16" control > /dev/null
dev_print_ab
el done
