#!/usr/bin/env bash
# Whether this tree's kernels are the same machine code as those of a commit: compiles each GPU source
# (the library's .cu files) of both for sm_90a, with the library's CUDA flags (less -lineinfo, which
# changes no instruction), and compares the cubins kernel by kernel, instructions and resources
# (bench/sass_diff.py). For a change to kernel source made where no GPU is at hand:
# kernels whose SASS is identical behave the same, so the change needs no device run; any kernel that
# differs needs one. It also lists the new kernels' registers and names any kernel with a stack frame or
# local memory (spills), ptxas -v's check without a build. Needs nvcc and cuobjdump (bench/sass_loops.py
# says where PyPI has the latter).
#
#   tools/sass-identity.sh [REV] [SOURCE.cu ...]    REV: default HEAD; sources: default every src/**/*.cu
#
# This tree is the working tree, uncommitted changes included. Cubins go under $SASS_DIR (default
# /tmp/fp4moe-sass). Exit status 1 when a kernel that both have differs (or a compilation fails).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
[ $# -gt 0 ] && shift
sources=("$@")
[ ${#sources[@]} -gt 0 ] || mapfile -t sources < <(git ls-files 'src/*.cu')
work=${SASS_DIR:-/tmp/fp4moe-sass}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
flags=(-std=c++17 -O3 -DNDEBUG -DFP4MOE_WITH_CUDA=1 -arch=sm_90a --expt-relaxed-constexpr -cubin)

rm -rf "$work" && mkdir -p "$work/base-tree" "$work/base" "$work/new"
git archive "$rev" | tar -x -C "$work/base-tree"

# compile TREE OUT_DIR SOURCE: SOURCE of TREE into OUT_DIR/<name>.cubin.
compile() {
  "$nvcc" "${flags[@]}" -I"$1/include" -I"$1/src" -o "$2/$(basename "$3" .cu).cubin" "$1/$3"
}

status=0
for source in "${sources[@]}"; do
  [ -f "$work/base-tree/$source" ] || { echo "$source: not in $rev"; continue; }
  compile "$work/base-tree" "$work/base" "$source" &
  base_job=$!
  compile . "$work/new" "$source" || status=1
  wait "$base_job" || status=1
  name=$(basename "$source" .cu)
  python3 bench/sass_diff.py "$work/base/$name.cubin" "$work/new/$name.cubin" || status=1
done
[ $status -eq 0 ] && echo "sass-identity: every kernel that $rev and this tree both have is identical" ||
  echo "sass-identity: some kernel differs from $rev's, or a compilation failed"
exit $status
