#!/usr/bin/env bash
# Forty-first session, call 2: call 1 found qwen3's skewed 512-token row 10-15% slower with --no-peer
# (191-200 us) than with the peer (172-174), while the uniform rows and the kernels' own times agreed.
# With --no-peer the skewed row runs right after our uniform 512-token row; with the peer, the peer's
# uniform row runs between them. The skewed row alone (--skewed only), against the pair, alternating,
# two rounds, both --no-peer; then the pair with the peer once more.
source bench/device.sh && dev_init peer-cost-2
dev_module head . 16
A="--shapes qwen3-30b-a3b --modes w4a16 --tokens 512 --no-peer"
for r in 1 2; do dev_bench only-$r /tmp/mod-head $A --skewed only; dev_bench pair-$r /tmp/mod-head $A; done
dev_bench peer-1 /tmp/mod-head --shapes qwen3-30b-a3b --modes w4a16 --tokens 512
for t in only-1 pair-1 only-2 pair-2 peer-1; do echo "== $t"; grep -h "^| qwen3" $R/$t/*.md | cut -c1-100; done | tee $R/rows.txt
dev_results
