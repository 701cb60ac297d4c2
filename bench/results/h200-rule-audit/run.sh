#!/usr/bin/env bash
# Fifty-fourth session, call 4: the dispatch rules that a benchmark can switch off (moe/dispatch.h's FP4MOE_*), each
# off against on at the batches where it applies, in one CLI build (main 05ed003), alternating, two rounds: the
# decode kernels' two-m-tile tile had turned from a 2-4% gain into a 2-4% loss since it was measured, so the other
# rules are measured again. W4A16 unless said.
source bench/device.sh && dev_init rule-audit
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
# audit TAG VARIABLE ROUNDS ARGS...: the CLI with VARIABLE=1 (on) and =0 (off) in turn, then ab.py on -> off.
audit() {
  local tag=$1 var=$2 rounds=$3 r side v on= off=
  shift 3
  for ((r = 1; r <= rounds; r++)); do
    for side in on off; do
      v=1; [ $side = off ] && v=0
      env "$var=$v" timeout 100 $CLI bench "$@" --kernels off --mem-gib 16 --json "$R/$tag-$side-r$r.json" \
        > "$R/$tag-$side-r$r.txt" 2>&1
      el "$tag $side r$r rc=$?"
    done
    on+=${on:+,}$R/$tag-on-r$r.json
    off+=${off:+,}$R/$tag-off-r$r.json
  done
  python3 bench/ab.py --compare "$on" "$off" > "$R/ab-$tag.txt" 2>&1
  echo "== $var: on -> off"; grep -v '^|---\|^| shape' "$R/ab-$tag.txt" | cut -d'|' -f2-9
}
audit own FP4MOE_OWN_TILES 3 --shapes qwen3-30b-a3b --tokens 4,8 --skewed off
audit split FP4MOE_SPLIT_WAVES 2 --shapes deepseek-v4-flash,deepseek-v3 --tokens 2,3,4 --skewed off
audit handoff FP4MOE_TILE_HANDOFF 2 --tokens 8,64,512 --skewed off
audit large FP4MOE_LARGE_TILES 2 --tokens 128,512 --skewed on
audit persistent FP4MOE_PERSISTENT_DOWN 2 --shapes qwen3-30b-a3b --tokens 256,512,1024 --skewed off
el end
