#!/usr/bin/env bash
# Session 31, call 2: the dispatch line at 24 rows per expert (the 32-token two-CTA wgmma tile below it, the
# 48-token one above), last measured before the consumers' leaner K loop (775a131) and the producers' changes:
# both tiles forced at 20, 24 and 28 rows per expert, all four shapes, W4A16, uniform and skewed, two
# alternating rounds (forcing turns the large tiles off on both sides).
source bench/device.sh && dev_init line24
dev_module hd . 14
one() {  # tag tile round
  FP4MOE_GEMM=$2 dev_bench $1-$3-q /tmp/mod-hd --shapes qwen3-30b-a3b --tokens 320,384,448 $C
  FP4MOE_GEMM=$2 dev_bench $1-$3-g /tmp/mod-hd --shapes gpt-oss-120b,deepseek-v3 --tokens 640,768,896 $C
  FP4MOE_GEMM=$2 dev_bench $1-$3-d /tmp/mod-hd --shapes deepseek-v4-flash --tokens 853,1024,1195 $C
}
C="--modes w4a16 --no-peer --skewed on"
for r in 1 2; do one a wgmma32-r256-w8-s8-c2 $r; one b wgmma48-r256-w8-s7-c2 $r; done
for s in q g d; do dev_compare ab-$s.txt a-1-$s,a-2-$s b-1-$s,b-2-$s; done
dev_results
