#!/usr/bin/env bash
# Session 31, call 5: bench/clock_watch.py as committed after calls 1 and 3 (nvidia-smi pinned to the GPU
# with -i, samples checked field by field), once more on one row of each kind.
source bench/device.sh && dev_init clocks2
dev_module hd . 14
cw() { local tag=$1; shift; (cd bench && PYTHONPATH=/tmp/mod-hd timeout 120 python3 clock_watch.py "$@") > $R/$tag.txt 2>&1; el "$tag rc=$?"; cat $R/$tag.txt; }
cw clocks2-q512 qwen3-30b-a3b 512 --seconds 1.5
cw clocks2-q4096 qwen3-30b-a3b 4096 --seconds 1.5 --gpu 0
(cd bench && python3 clock_watch.py --help | head -3) > $R/help.txt 2>&1; el "help rc=$?"
el end
