#!/usr/bin/env bash
# Fortieth session, call 3: the whole GPU test command on main ddc8ce2 plus EdgeCases' new one-token
# cases (every slot on one expert; no local expert, the output written as exact zeros).
source bench/device.sh && dev_init head-40
dev_gpu_test 400
