#!/usr/bin/env bash
# Seventieth session, H100: main e1bb216 (the sorted-row copy from 24 rows per expert) built on the device: the
# Python GPU tests against its module and the three official decode tables (their 384-512-token rows of gpt-oss and
# the deepseek shapes changed kernels).
source bench/device.sh && dev_init official
dev_module head . 16
dev_pytest /tmp/mod-head
dev_official /tmp/mod-head "w4a16 w4a4cal w4a4" decode
grep -h "| 512 |" "$R"/official-*-decode/*.md | grep -v qwen3 | cut -d'|' -f2-11
dev_results
