#!/usr/bin/env bash
# Sixty-third session, H100, last call: the GPU test command on main c7eea8f (its two kernel changes, 07c8641 and
# c7eea8f, ran only their carried layer tests before), the Python GPU tests, then the two official W4A4 decode
# commands (the only official tables whose kernels changed: W4A4 at one token and qwen3 at eight), with the module
# built here.
source bench/device.sh && dev_init checks-63
dev_checks "w4a4 w4a4cal" decode
dev_results
