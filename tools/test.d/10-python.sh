#!/usr/bin/env bash
# CI part for the Python package (run by tools/test.sh from the repo root): builds the wheel
# CPU-only (no nvcc compile, to save CI time) into a venv under build-py/, then runs pytest on
# tests/python. Torch and GPU test modules skip visibly (-rs) when torch or a GPU is missing.
set -euo pipefail
venv=build-py/ci-venv
python3 -m venv --system-site-packages "$venv"
# Whatever tools/pip-requirements.txt already installed is reused; this only fills gaps.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy ml_dtypes pytest nanobind scikit-build-core
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation \
  -C cmake.define.FP4MOE_CUDA=OFF -C build-dir=build-py/ci .
# Run from outside the source tree so that `import fp4moe` is the installed wheel, not python/.
cd tests/python
"../../$venv/bin/python" -m pytest -rs -q .
