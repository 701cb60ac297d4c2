#!/usr/bin/env bash
# Seventy-first session, H100: the combine as two kernels, with and without the discard of y's lines (the plain one
# SASS-identical to ba0182a's combine, 56 registers; main's one kernel with a run-time flag has 70 and measured
# 0.4-4.9% slower at prefill than ba0182a's, ../h100-prefill-ab-71/). Main d5192be's CLI (fp4moe-base) against the
# branch's (fp4moe-new) and its layer GPU tests, built on the CPU machine and carried: the layer tests, memcheck of
# the combine's tests (both forms: YInL2EqualsTheRuleOff runs the discard), then W4A16 at prefill with the
# per-kernel times and at 64 and 512 tokens (y out of L2 but on qwen3 at 512), two alternating rounds.
source bench/device.sh && dev_init combine-forms && dev_unpack_carried
dev_carried_gtest layer 150
dev_carried_gtest layer 150 'GpuLayer.CombineOfManySlots:GpuLayer.YInL2EqualsTheRuleOff:GpuLayer.EdgeCases' memcheck
dev_cli_ab 2 "--tokens 4096,16384 --skewed off --kernels on --mem-gib 16" pre
dev_cli_ab 2 "--tokens 64,512 --kernels on --mem-gib 16" dec
dev_print_ab
el done
