#!/usr/bin/env bash
# Set-up command 1 of the README: installs what is needed, builds, and runs `fp4moe demo` (on the
# GPU when the CUDA backend was built and a GPU is present, else on the CPU). Arguments are passed
# to the demo, e.g. tools/demo.sh --mode w4a4.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
BUILD_DIR="$build" tools/build.sh
"$build/src/cli/fp4moe" demo "$@"
