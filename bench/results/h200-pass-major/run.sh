#!/usr/bin/env bash
# Session 31, call 6: a diagnostic of the persistent GEMM 2 walking its tiles pass-major (a stride of
# about the tiles per expert: one tile of every expert in turn, each pass re-reading every expert's
# weights; pass-major-diag.patch) against main, qwen3 at 4096 and 16384 tokens, both modes, two
# alternating rounds; GEMM 2's own time per forward from the profile (kernels.txt).
source bench/device.sh && dev_init passmajor
D=bench/results/h200-pass-major
dev_variant_patch main $D/pass-major-diag.patch -R
dev_module main /tmp/tree-main 8 & dev_module diag . 8 & wait; el builds
C="--modes w4a16,w4a4 --tokens 4096,16384 --no-peer --skewed off --shapes qwen3-30b-a3b"
for r in 1 2; do dev_bench m-$r /tmp/mod-main $C; dev_bench p-$r /tmp/mod-diag $C; done
dev_compare ab.txt m-1,m-2 p-1,p-2
python3 - > $R/kernels.txt <<'PY'
import json, glob, os
R = os.environ["R"]
for tag in ["m-1", "p-1", "m-2", "p-2"]:
    d = json.load(open(glob.glob(f"{R}/{tag}/*.json")[0]))
    for r in d["rows"]:
        ks = {k["name"].split("<")[0].split("::")[-1][:24]: k["us_per_forward"] for k in r["ours_kernels"]}
        print(tag, r["mode"], r["tokens"], f"{r['ours_us']:.0f}", " ".join(f"{n}={v:.0f}" for n, v in ks.items() if "wgmma" in n or "combine" in n))
PY
cat $R/kernels.txt
el end
