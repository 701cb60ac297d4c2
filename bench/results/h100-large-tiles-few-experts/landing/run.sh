#!/usr/bin/env bash
# Seventy-second session, H100: the large tiles only beside a table grid of three waves (moe/dispatch.h's
# kLargeTileMinTableWaves), built on the CPU machine and carried in build-ab/clis.tar.xz: the new CLI (fp4moe-new)
# against main 1e2c861's (fp4moe-main), and the new GPU layer and dispatch tests (LargeTilesOfSkewedBatches now on
# 96 of 128 local experts, top-4, so that it keeps its large tiles). ../run.sh measured W4A16 with the rule's switch;
# here both W4A4 modes, whose large tiles also decide h's quantization and the hand-off, on the rows the line
# changes, W4A16 once more, and gpt-oss-120b at 512 tokens (unchanged choice) as the control.
source bench/device.sh && dev_init large-landing && dev_unpack_carried
dev_carried_gtest dispatch 60
dev_carried_gtest layer 300
CLI_BASE=build-ab/fp4moe-main
ROWS="--tokens 128,224,384 --kernels off --mem-gib 16"
dev_cli_ab 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 $ROWS --mode w4a4" c32-dyn
dev_cli_ab 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 $ROWS --mode w4a4 --scales calibrated" c32-cal
dev_cli_ab 2 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 $ROWS --mode w4a4" oss20-dyn
dev_cli_ab 2 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 $ROWS --mode w4a4 --scales calibrated" oss20-cal
dev_cli_ab 2 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 64,256 --kernels off --mem-gib 16 --mode w4a4" scout-dyn
dev_cli_ab 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 $ROWS" c32-w4a16
dev_cli_ab 2 "--shapes gpt-oss-120b --tokens 512 --kernels off --mem-gib 16" control
dev_print_ab
el done
