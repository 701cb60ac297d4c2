#!/usr/bin/env bash
# CI part for the benchmark (run by tools/test.sh from the repo root): `bench_moe.py --self-test`,
# the checks that need no GPU (floor arithmetic against the spec, routing, copy counts, tables, the
# A/B comparison of bench/ab.py), and with torch the NVFP4 decoding and the peer on the CPU. Uses
# the venv of 10-python.sh when it is there (it has numpy), else python3.
set -euo pipefail
python=build-py/ci-venv/bin/python
[ -x "$python" ] || python=python3
"$python" bench/bench_moe.py --self-test
bash -n bench/device.sh  # the device machines' helpers run only there: here they must at least parse
