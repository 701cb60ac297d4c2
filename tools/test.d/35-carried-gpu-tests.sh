#!/usr/bin/env bash
# CI part for tools/carried-gpu-tests.sh, whose `run` happens only on a GPU machine: `unpack` must point a packed
# build's CTest files at the unpack directory and at this checkout, the build directory first (it may lie inside the
# source tree). A packed archive of one GPU-labelled test stands in for a real build.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packed_source=/packing/checkout packed_build=/packing/checkout/build-gpu
mkdir -p "$work/stage/tests"
printf 'subdirs("tests")\n' >"$work/stage/CTestTestfile.cmake"
printf '#!/bin/sh\n' >"$work/stage/tests/probe" && chmod +x "$work/stage/tests/probe"  # ctest lists only what exists
cat >"$work/stage/tests/CTestTestfile.cmake" <<CMAKE
add_test(probe "$packed_build/tests/probe" "$packed_source/tests/data/tiny-nvfp4")
set_tests_properties(probe PROPERTIES LABELS "gpu")
CMAKE
printf 'packed_build=%s\npacked_source=%s\npacked_commit=none\n' "$packed_build" "$packed_source" \
  >"$work/stage/carried.env"
tar -C "$work/stage" -cJf "$work/packed.tar.xz" .

tools/carried-gpu-tests.sh unpack "$work/packed.tar.xz" "$work/unpacked"
command=$(ctest --test-dir "$work/unpacked" -N -V -L gpu | sed -n 's/^[0-9]*: Test command: //p')
expected="$work/unpacked/tests/probe \"$PWD/tests/data/tiny-nvfp4\""
if [ "$command" != "$expected" ]; then
  echo "carried-gpu-tests unpack: the test command is [$command], expected [$expected]" >&2
  exit 1
fi
echo "carried-gpu-tests unpack: paths rewritten"
