#!/usr/bin/env bash
# Sixty-ninth session, second call, on the H100 call 1 left warm: main bf67fca (base) against fp4moe-var (the y-in-L2
# rule with y and h within all of L2 and y at least 4% of the touched weights' bytes), both CLIs carried as in call 1,
# every benchmark shape at the batches near the rule's lines, two alternating rounds per mode.
source bench/device.sh && dev_init var-wide && dev_unpack_carried
B=CLI=build-ab/fp4moe-base
V=CLI=build-ab/fp4moe-var
dev_env_ab w 2 "--tokens 128,192,256,384,512,640,768,1024 --kernels off --mem-gib 16" base=$B var=$V >/dev/null
dev_env_ab c 2 "--tokens 192,256,640,768 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" base=$B var=$V \
  >/dev/null
dev_env_ab d 2 "--tokens 192,256,640,768 --mode w4a4 --kernels off --mem-gib 16" base=$B var=$V >/dev/null
dev_print_ab
el done
