#!/usr/bin/env bash
# A diagnostic (not for main): what a combine inside the persistent GEMM 2's drain would cost, before
# building one. combine-diag.patch makes the staged form's draining warps, after each stored row chunk
# whose pair is its token's slot 0, read that token's k rows of y at the chunk's columns and write
# their weighted sum to the output (the reads and writes of the combine kernel, spread over GEMM 2;
# the combine kernel still runs after it and writes the output, so results stay right).
# pass-major-diag.patch (thirty-first session) walks GEMM 2's tiles one tile of every expert a pass,
# so that tokens would end pass by pass. Four builds: main, pass-major (pm), the drain's reads (cd),
# both (pmcd); qwen3 (the shape that takes the staged form), both modes, two alternating rounds.
source bench/device.sh && dev_init dc
D=bench/results/h200-drain-combine
dev_variant_patch pm $D/pass-major-diag.patch
dev_variant_patch cd $D/combine-diag.patch
dev_variant_patch pmcd $D/both-diag.patch
dev_module main . 4 & dev_module pm /tmp/tree-pm 4 & dev_module cd /tmp/tree-cd 4 & dev_module pmcd /tmp/tree-pmcd 4 & wait; el builds
C="--shapes qwen3-30b-a3b --modes w4a16,w4a4 --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do for v in main pm cd pmcd; do dev_bench $v-$r /tmp/mod-$v $C; done; done
dev_compare ab-pm.txt main-1,main-2 pm-1,pm-2
dev_compare ab-cd.txt main-1,main-2 cd-1,cd-2
dev_compare ab-pmcd.txt main-1,main-2 pmcd-1,pmcd-2
dev_results
