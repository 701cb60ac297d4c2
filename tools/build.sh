#!/usr/bin/env bash
# Installs the dependencies, configures and builds fp4moe into $BUILD_DIR (default build/).
# The CUDA backend is built when nvcc is found (/usr/local/cuda/bin/nvcc or on PATH); set
# FP4MOE_CUDA=ON or OFF to decide yourself. Extra arguments go to the cmake configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

tools/install-deps.sh
if [ -z "${FP4MOE_CUDA:-}" ]; then
  if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null; then FP4MOE_CUDA=ON; else FP4MOE_CUDA=OFF; fi
fi
echo "build: $build (CUDA backend $FP4MOE_CUDA)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA="$FP4MOE_CUDA" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
