#!/usr/bin/env bash
# The GPU test command (tools/gpu-test.sh) on binaries built where there is no GPU, so that a GPU machine's time goes
# to the tests and not to the build (about 200 s on 16 cores):
#
#   tools/carried-gpu-tests.sh pack BUILD_DIR ARCHIVE   configures and builds BUILD_DIR as gpu-test.sh does
#                                                       (CUDA_ARCHS, default 90a), then packs what the CTest label
#                                                       `gpu` runs: the executables its tests call (stripped) and
#                                                       the build's CTest files
#   tools/carried-gpu-tests.sh unpack ARCHIVE DIR       unpacks into DIR and points the CTest files at DIR and at this
#                                                       checkout (they hold the packing machine's absolute paths)
#   tools/carried-gpu-tests.sh run ARCHIVE [DIR]        unpack (DIR default /tmp/fp4moe-carried), then gpu-test.sh
#                                                       on DIR without building; its exit status
#
# `run` and `unpack` run in a checkout of the same commit (the CLI tests read its test data). The executables are
# the same bytes, so the tests they run are those of the packing tree.
set -euo pipefail
cd "$(dirname "$0")/.."

# The executables the label's tests call, one per line, inside the build directory.
gpu_test_executables() {
  ctest --test-dir "$1" -N -V -L gpu | sed -n 's/^[0-9]*: Test command: \([^ ]*\).*/\1/p' | sort -u |
    while read -r exe; do
      case $exe in "$1"/*) echo "${exe#"$1"/}" ;; esac
    done
}

pack() {
  local build archive stage exe executables
  build=$(cd "$1" && pwd) archive=$2
  BUILD_ONLY=1 BUILD_DIR="$build" tools/gpu-test.sh
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  (cd "$build" && find . \( -name CTestTestfile.cmake -o -name '*_include.cmake' -o -name '*_tests.cmake' \) \
    -not -path '*/CMakeFiles/*' -exec cp --parents {} "$stage" \;)
  mapfile -t executables < <(gpu_test_executables "$build")
  for exe in "${executables[@]}"; do
    mkdir -p "$stage/$(dirname "$exe")"
    cp "$build/$exe" "$stage/$exe"
    strip "$stage/$exe"
  done
  printf 'packed_build=%s\npacked_source=%s\npacked_commit=%s\n' "$build" "$PWD" \
    "$(git rev-parse HEAD)$(git diff --quiet HEAD -- src include tests || echo +changes)" >"$stage/carried.env"
  # xz's largest dictionary: the executables share most of their bytes (under a third of the default level's size).
  tar -C "$stage" -cf - . | xz -9e -T0 >"$archive"
  echo "packed ${#executables[@]} executables into $archive ($(du -h "$archive" | cut -f1))"
}

unpack() {
  local archive=$1 dir=$2 packed_build packed_source packed_commit
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xJf "$archive" -C "$dir"
  dir=$(cd "$dir" && pwd)
  # shellcheck disable=SC1091  # written by pack
  source "$dir/carried.env"
  local head
  head=$(git rev-parse HEAD)
  [ "$packed_commit" = "$head" ] || echo "note: packed at $packed_commit, this checkout is $head"
  # The build directory first: it may lie inside the source tree.
  find "$dir" -name '*.cmake' -exec sed -i -e "s|$packed_build|$dir|g" -e "s|$packed_source|$PWD|g" {} +
  local count
  count=$(ctest --test-dir "$dir" -N -L gpu | sed -n 's/^Total Tests: //p')
  echo "unpacked into $dir: $count GPU tests"
}

case ${1:-} in
  pack) [ $# -eq 3 ] || { echo "usage: $0 pack BUILD_DIR ARCHIVE" >&2; exit 2; }; pack "$2" "$3" ;;
  unpack) [ $# -eq 3 ] || { echo "usage: $0 unpack ARCHIVE DIR" >&2; exit 2; }; unpack "$2" "$3" ;;
  run)
    [ $# -ge 2 ] || { echo "usage: $0 run ARCHIVE [DIR]" >&2; exit 2; }
    dir=${3:-/tmp/fp4moe-carried}
    unpack "$2" "$dir"
    SKIP_BUILD=1 BUILD_DIR="$dir" exec tools/gpu-test.sh
    ;;
  *) echo "usage: $0 pack BUILD_DIR ARCHIVE | unpack ARCHIVE DIR | run ARCHIVE [DIR]" >&2; exit 2 ;;
esac
