#!/usr/bin/env bash
# Eighty-first session, after run.sh: the GPU test binaries of main 186ae257 (built on the CPU machine, stripped,
# carried in build-ab/clis.tar.xz), every kernel and layer test. Since 9adb4d95 (run.sh's full run) only comments,
# whitespace (kernel sources token-identical; tools/sass-identity.sh: every kernel's SASS identical to aa6ae6fb's) and
# test-file formatting changed. Also memcheck on the fewer-CTAs layer test, the rule this session moved.
source bench/device.sh && dev_init checks-81-head && dev_unpack_carried
dev_carried_gtest kernel 100
dev_carried_gtest layer 200
dev_carried_gtest layer 120 '*FewerCtas*' memcheck
dev_results
el done
