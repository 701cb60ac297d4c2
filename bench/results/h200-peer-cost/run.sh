#!/usr/bin/env bash
# Forty-first session, call 1: (a) the whole C++ GPU test command on main 4763648 (the layer tests'
# on_hopper() helper, compiled but never run on a GPU last session); (b) the fortieth session's lead:
# whether the peer's rows between ours cost our rows time. qwen3 W4A16 at the official decode command's
# batches, both routings, with the peer against --no-peer, one build, alternating, two rounds.
source bench/device.sh && dev_init peer-cost
dev_module head . 16
A="--shapes qwen3-30b-a3b --modes w4a16 --tokens 1,8,64,512"
for r in 1 2; do dev_bench peer-$r /tmp/mod-head $A; dev_bench nopeer-$r /tmp/mod-head $A --no-peer; done
dev_compare ab.txt peer-1,peer-2 nopeer-1,nopeer-2
grep -h "copies" $R/*.out | head -4
dev_gpu_test 400
dev_results
