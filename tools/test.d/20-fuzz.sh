#!/usr/bin/env bash
# Bounded CI fuzz run of the safetensors header parser under ASan/UBSan (libFuzzer, clang).
# Run from the repository root by tools/test.sh after ctest. FUZZ_SECONDS (default 60) bounds the
# run; FUZZ_BUILD_DIR (default build-fuzz) is its own clang build, separate from BUILD_DIR.
# A crash, sanitizer report or leak fails the script and leaves the reproducer in the work dir.
set -euo pipefail
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
CXX_FUZZ=${CXX_FUZZ:-clang++}

if ! command -v "$CXX_FUZZ" >/dev/null; then
  echo "20-fuzz: $CXX_FUZZ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
cmake -S fuzz -B "$FUZZ_BUILD_DIR" -G Ninja -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$FUZZ_BUILD_DIR" --target fuzz_safetensors_header -j 2

work="$FUZZ_BUILD_DIR/fuzz-work"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp fuzz/corpus/safetensors_header/* tests/data/tiny-nvfp4/model.safetensors "$work/corpus/"
echo "20-fuzz: fuzz_safetensors_header for ${FUZZ_SECONDS}s"
"$FUZZ_BUILD_DIR/fuzz_safetensors_header" "$work/corpus" -dict=fuzz/safetensors.dict -max_len=32768 \
  -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" 2>"$work/log.txt" || {
  tail -n 60 "$work/log.txt" >&2
  echo "20-fuzz: FAILED; reproducer(s) in $work/artifacts/" >&2
  exit 1
}
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$work/log.txt" || true
echo "20-fuzz: OK"
