#!/usr/bin/env bash
# CI part for machines without nvcc: the README promises a build without the CUDA backend, and a header
# reached only through a CUDA-only include compiles in the main (CUDA) build and breaks this one. So the
# whole tree is built once more with FP4MOE_CUDA=OFF into build-cpu/ (CPU_BUILD_DIR) and its CPU tests run:
# the CLI and the tests take their no-CUDA paths there.
set -euo pipefail
build=${CPU_BUILD_DIR:-build-cpu}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" -L cpu -j "$(nproc)" --timeout 600 --output-on-failure -E 'install'
