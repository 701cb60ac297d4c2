#!/usr/bin/env bash
# Sixty-first session, call 2 (H100, the machine of call 1 kept warm, its module of main af69962 in /tmp/mod-head):
# the six official commands (bench/results/README.md). Run as one command line:
source bench/device.sh && dev_init h100-61-call2 && ls /tmp/mod-head/fp4moe > /dev/null && dev_official /tmp/mod-head && el end
