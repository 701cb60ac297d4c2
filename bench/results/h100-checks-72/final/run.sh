#!/usr/bin/env bash
# Seventy-second session, H100: the GPU test command on main 337886a (the large tiles' table-wave line), built on the
# device: the change is host code, run before by its carried dispatch and layer tests (../../h100-large-tiles-few-experts/landing/).
source bench/device.sh && dev_init checks-72-final
dev_gpu_test 330
