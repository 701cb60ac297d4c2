#!/usr/bin/env bash
# Forty-second session, call 2: the Python GPU tests (tools/gpu-python-test.sh, which now also run
# examples/hf_moe_block.py on the GPU and check the three written versions) on main 2db5e18, the CLI
# with the CUDA backend (--version, --help with synopses, the demo, `fp4moe run`), and qwen3's prefill
# rows in the three modes with the peer (the official command's form, one shape).
source bench/device.sh && dev_init head-42
( cmake -S . -B /tmp/bcli -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    > $R/cli-build.log 2>&1 && cmake --build /tmp/bcli --target fp4moe_cli -j6 >> $R/cli-build.log 2>&1; \
  echo "cli build rc=$?" >> $R/cli-build.log ) &
s=$(date +%s)
timeout 300 tools/gpu-python-test.sh > "$R/gpu-python-test.out" 2>&1
echo "gpu-python-test rc=$? in $(($(date +%s) - s)) s" >> "$R/gpu-python-test.out"
wait
el tests
tail -1 $R/cli-build.log
B=/tmp/bcli/src/cli/fp4moe
{ $B --version; echo "rc=$?"; $B --help; echo "rc=$?"; $B demo; echo "rc=$?"; $B demo --mode w4a4 --tokens 5; echo "rc=$?";
  $B run tests/data/tiny-nvfp4 --layer 1 --tokens 8; echo "rc=$?"; } > $R/cli.out 2>&1
grep -E "passed|failed|skipped|error|rc=" "$R/gpu-python-test.out" | tail -6; grep -E "fp4moe [0-9]|backend|rel error|OK|FAIL|rc=|ok" $R/cli.out
el cli
Q="timeout 120 python3 bench/bench_moe.py --shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off"
$Q --modes w4a16 --out-dir $R/q-w4a16 > $R/q.out 2>&1
$Q --modes w4a4 --out-dir $R/q-w4a4 >> $R/q.out 2>&1
$Q --modes w4a4 --w4a4-scales calibrated --out-dir $R/q-w4a4cal >> $R/q.out 2>&1
grep -h "qwen3" $R/q-*/*.md
el end
