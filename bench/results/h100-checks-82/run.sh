#!/usr/bin/env bash
# The three official decode commands on main f2b5835b (y kept in L2 from 5 MB of y, the large tiles' copies at the
# normal policy), with its Python module built here.
set -uo pipefail
source bench/device.sh && dev_init checks-82
dev_module head . 16
el module
dev_official /tmp/mod-head "w4a16 w4a4 w4a4cal" decode
grep -h "| [18] |\|| 64 |\|| 512 |" "$R"/official-*-decode/*.md 2>/dev/null | cut -d'|' -f2-10
dev_results
