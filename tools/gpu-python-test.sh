#!/usr/bin/env bash
# The Python GPU test, for the GPU machine (no internet: nothing is downloaded): builds the wheel
# with the CUDA backend for one architecture (CUDA_ARCHS, default 90a) against the installed
# numpy, nanobind and scikit-build-core, installs it for the current python3, then runs the GPU
# pytest module verbosely (it prints its error figures), then the other modules.
set -euo pipefail
cd "$(dirname "$0")/.."
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python3 -m pip install --no-build-isolation --no-deps --no-index \
  --force-reinstall -C cmake.define.CMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90a}" -C build-dir=build-py/gpu .
cd tests/python
python3 -c "import fp4moe, torch; print('fp4moe.cuda_available()', fp4moe.cuda_available(), torch.__version__)"
status=0
python3 -m pytest -v -rs -s test_gpu.py || status=1
python3 -m pytest -q -rs --ignore=test_gpu.py . || status=1
exit $status
