#!/usr/bin/env bash
# Session 31, call 7: why qwen3 T=64 measures 99 us in A/B runs of 64 and 512 tokens and 104.5 in the
# official decode command (same kernels). qwen3 only, W4A16, main's module: `--tokens 64` (one weight
# copy) against `--tokens 1,64` (twelve copies: T=1 touches 8 experts), both without the peer, two
# alternating rounds; then `--tokens 1,64` with the peer (ours measured after the peer's T=1 row).
source bench/device.sh && dev_init t64
dev_module hd . 14
C="--shapes qwen3-30b-a3b --modes w4a16 --skewed on"
for r in 1 2; do dev_bench one-$r /tmp/mod-hd $C --tokens 64 --no-peer; dev_bench twelve-$r /tmp/mod-hd $C --tokens 1,64 --no-peer; done
dev_bench peer-1 /tmp/mod-hd $C --tokens 1,64
python3 - > $R/rows.txt <<'PY'
import json, glob, os
R = os.environ["R"]
for tag in ["one-1", "twelve-1", "one-2", "twelve-2", "peer-1"]:
    d = json.load(open(glob.glob(f"{R}/{tag}/*.json")[0]))
    for r in d["rows"]:
        if r["tokens"] == 64:
            print(tag, r["routing"], f"{r['ours_us']:.1f} us", "copies", r["ours_copies"], "runs", r["ours_runs"])
PY
cat $R/rows.txt
el end
