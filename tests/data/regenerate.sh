#!/usr/bin/env bash
# Regenerates tests/data/tiny-nvfp4 with the project's own tools: the deterministic BF16 generator
# (tests/checkpoint/tiny_checkpoint.cpp) and `fp4moe quantize --calib`. Run from the repository
# root after building; BUILD_DIR defaults to build.
set -euo pipefail
BUILD_DIR=${BUILD_DIR:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD_DIR/tests/checkpoint/fp4moe_make_tiny_checkpoint" "$tmp"
rm -rf tests/data/tiny-nvfp4
"$BUILD_DIR/src/cli/fp4moe" quantize "$tmp/bf16" tests/data/tiny-nvfp4 --calib "$tmp/calib.safetensors"
