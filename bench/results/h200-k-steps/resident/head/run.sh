#!/usr/bin/env bash
# Session 25, call 8: the official W4A16 decode command on the landed tree (the module of call 7's
# resident build, /tmp/mod-rs, on the same warm machine).
export PYTHONUNBUFFERED=1; mkdir -p $OUT/o && ls /tmp/mod-rs > /dev/null && PYTHONPATH=/tmp/mod-rs timeout 140 python3 bench/bench_moe.py --modes w4a16 --tokens 1,8,64,512 --out-dir $OUT/o > $OUT/o/official-w4a16-decode.out 2>&1
