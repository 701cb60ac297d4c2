#!/usr/bin/env bash
# Seventy-fourth session, H100. ../h100-t1-timeline/: qwen3's one-token GEMM 2 holds 4 of each slice's 6 K steps in its
# register ring before its wait, and takes 3.4 us after it, two K steps of it from DRAM; a ring of six (../h100-deep-down/)
# cost registers and CTAs (+24%). stash.patch: the K-split 8-token tiles copy the K steps after the ring into shared
# memory (cp.async) with the ring's loads, before the kernel's wait, and the ring's first refills read them there
# (the two-slice tile: four steps, 24 KB, registers unchanged). CLIs and the new side's GPU test binaries built on
# the CPU machine and carried (build-ab/clis.tar.xz: fp4moe-base = main c59f008, fp4moe-new = with stash.patch).
source bench/device.sh && dev_init weight-stash && dev_unpack_carried
dev_carried_gtest kernel 150
dev_carried_gtest layer 300
ROWS="--tokens 1,2,3,4 --skewed off --kernels off --mem-gib 16"
dev_cli_ab 3 "$ROWS" w4a16 > /dev/null
dev_cli_ab 3 "--tokens 1,2 --skewed off --kernels off --mem-gib 16 --mode w4a4" dyn > /dev/null
dev_print_ab
dev_carried_gtest layer 200 'GpuLayer.KSplitTilesResidentAndStagedTokenRows:GpuLayer.EveryCompiledTileShape' racecheck
el done
