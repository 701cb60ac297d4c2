#!/usr/bin/env bash
# Forty-first session, call 8: the Python GPU tests (tools/gpu-python-test.sh) on main 8e93700, whose
# bindings name the caller's argument in mode/activation errors, and the CLI with the CUDA backend:
# the demo and `fp4moe run` on the committed tiny checkpoint (per-command --help and option tables).
source bench/device.sh && dev_init head-41-cli
( cmake -S . -B /tmp/bcli -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    > $R/cli-build.log 2>&1 && cmake --build /tmp/bcli --target fp4moe_cli -j6 >> $R/cli-build.log 2>&1; \
  echo "cli build rc=$?" >> $R/cli-build.log ) &
s=$(date +%s)
timeout 300 tools/gpu-python-test.sh > "$R/gpu-python-test.out" 2>&1
echo "gpu-python-test rc=$? in $(($(date +%s) - s)) s" >> "$R/gpu-python-test.out"
wait
tail -1 $R/cli-build.log
B=/tmp/bcli/src/cli/fp4moe
{ $B demo; echo "rc=$?"; $B demo --mode w4a4 --tokens 5; echo "rc=$?";
  $B run tests/data/tiny-nvfp4 --layer 1 --tokens 8; echo "rc=$?"; $B run --help; echo "rc=$?"; } > $R/cli.out 2>&1
grep -E "passed|failed|skipped|error|rc=" "$R/gpu-python-test.out" | tail -6; cat $R/cli.out | grep -E "backend|rel error|OK|FAIL|rc=|ok"
el end
