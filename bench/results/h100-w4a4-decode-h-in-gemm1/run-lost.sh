#!/usr/bin/env bash
# This first form of the call never returned: the device machine stopped answering and took 730 s of the
# session's device time with it. run.sh is the shorter call that ran in its place.
# Sixty-fourth session, H100: W4A4's decode forward without the kernel between its GEMMs. GEMM 1's CTAs count
# themselves done after writing h in FP32, and the last one fake-quantizes the sorted rows of h (the quantization
# kernel's codec on the same values), so that GEMM 2 follows GEMM 1 directly and streams its first weights while GEMM 1
# runs, as in W4A16. Against main 3e4cfd1 (the decode kernels of e0565dc); both CLIs built on the CPU machine and
# carried. The A/B first (both W4A4 modes at 1-3 tokens, three alternating rounds; W4A16 at 1-2, whose kernels only
# gained arguments, two), then the GPU test command on this tree, the Python GPU tests and the two official W4A4
# decode commands, so that the change has every check it needs to land in this one call.
source bench/device.sh && dev_init w4a4-decode-h-in-gemm1
a="--shapes all --tokens 1,2,3 --skewed off --mode w4a4 --kernels off --mem-gib 16"
dev_cli_ab 3 "$a" dyn
dev_cli_ab 3 "$a --scales calibrated" cal
dev_cli_ab 2 "--shapes all --tokens 1,2 --skewed off --mode w4a16 --kernels off --mem-gib 16" w16
dev_print_ab
dev_gpu_test 300
dev_module head . 16
dev_pytest /tmp/mod-head
dev_official /tmp/mod-head "w4a4 w4a4cal" decode
grep -h "| 1 |" "$R"/official-*-decode/*.md | cut -d'|' -f2-10
dev_results
