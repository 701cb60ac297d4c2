#!/usr/bin/env bash
# Fifty-third session, call 3: call 2's W4A16 decode rows at 8-64 tokens came out 1.3-4.4% slower than the top-level
# table of main 4763648 (the forty-first session's machine), with the peer's rows level (-2..+1%). Sessions 42-44 saw
# the same and put it on their machines. Here both on one machine: main 4763648's module and bench script against
# this tree's (48b6d41), alternating, three rounds, W4A16, --no-peer.
source bench/device.sh && dev_init regress
mkdir -p /tmp/tree-old && git archive 4763648 | tar -x -C /tmp/tree-old
dev_module old /tmp/tree-old 8 & dev_module head . 8 & wait
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --modes w4a16 --tokens 1,8,64 --no-peer"
for r in 1 2 3; do
  for side in old head; do
    tree=.
    [ $side = old ] && tree=/tmp/tree-old
    (cd $tree && PYTHONPATH=/tmp/mod-$side timeout 200 python3 bench/bench_moe.py --out-dir "$R/$side-$r" $ARGS) \
      > "$R/$side-$r.out" 2>&1
    el "$side r$r rc=$?"
  done
done
python3 bench/ab.py --compare "$R/old-1/nvidia-h200.json,$R/old-2/nvidia-h200.json,$R/old-3/nvidia-h200.json" \
  "$R/head-1/nvidia-h200.json,$R/head-2/nvidia-h200.json,$R/head-3/nvidia-h200.json" > "$R/ab.txt" 2>&1
grep -v '^|---' "$R/ab.txt"
dev_results
