#!/usr/bin/env bash
# Set-up command 2 of the README, and what CI runs: installs what is needed, builds (tools/build.sh),
# runs every CTest test (GPU tests skip themselves visibly without a GPU), then every executable
# tools/test.d/*.sh in name order. Prints a summary and exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
export BUILD_DIR="$build"

names=()
results=()
record() {  # name, exit status
  names+=("$1")
  if [ "$2" -eq 0 ]; then results+=(PASS); else results+=("FAIL (exit $2)"); fi
}

tools/build.sh
status=$?
record "build" $status
if [ $status -eq 0 ]; then
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600
  record "ctest (all labels)" $?
  for step in tools/test.d/*.sh; do
    [ -x "$step" ] || continue
    echo "=== $step"
    "$step"
    record "$step" $?
  done
fi

echo
echo "=== fp4moe test summary"
failed=0
for i in "${!names[@]}"; do
  printf '  %-40s %s\n' "${names[$i]}" "${results[$i]}"
  [ "${results[$i]}" = PASS ] || failed=1
done
if [ $failed -eq 0 ]; then echo "ALL PASSED"; else echo "FAILED"; fi
exit $failed
