#!/usr/bin/env bash
# Fifty-third session, call 2: the six official commands (bench/results/README.md) on main 48b6d41, the module of
# call 1 where the machine kept it (built again otherwise).
source bench/device.sh && dev_init official-53
ls /tmp/mod-head 2>/dev/null | grep -q fp4moe || dev_module head . 16
dev_official /tmp/mod-head
dev_results
