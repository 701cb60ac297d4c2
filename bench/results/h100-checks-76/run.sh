#!/usr/bin/env bash
# Seventy-sixth session: the GPU test command (tools/gpu-test.sh: CTest's gpu label, then memcheck and racecheck) on this
# session's main, owed since aa197bb: the fewer-CTAs rule on the unsplit tiles (11999b06), capped_smem_bytes signed
# (de294c6). Then main aa197bb's CLI (carried) against this tree's in dynamic W4A4, where the rule's rows are. With
# `full` (on the H100 of the standing tables) also the module built beside the tests, the Python GPU tests and the three
# official decode tables (one of whose rows the rule changes: gpt-oss T=8 dynamic W4A4).
source bench/device.sh && dev_init "checks-76-${1:-lean}" && dev_unpack_carried
[ "${1:-}" = full ] && dev_module head . 8 &   # CPU work, beside the tests' GPU phases
dev_gpu_test 420
wait
dev_env_ab dyn 2 "--shapes all --tokens 3,4,8,10,12 --skewed off --kernels off --mem-gib 16 --mode w4a4" \
  base=CLI=build-ab/fp4moe-base new=CLI=/tmp/build-gpu/src/cli/fp4moe > /dev/null
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
if [ "${1:-}" = full ]; then
  dev_pytest /tmp/mod-head
  dev_official /tmp/mod-head "w4a4 w4a16 w4a4cal" decode
  grep -h "| [18] |\|| 512 |" "$R"/official-*-decode/*.md 2>/dev/null | grep "qwen3\|gpt-oss" | cut -d'|' -f2-10
fi
dev_results
