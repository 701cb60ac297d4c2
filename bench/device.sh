# Helpers for the scripts that run on a lent GPU machine (bench/results/*/run.sh): source this file from
# the repository root, then build the Python module of this tree or of a variant of it, the GPU test
# binaries, and run tests, benchmarks and comparisons. Everything a step writes goes under $R, which `el`
# packs into $OUT/r.tgz after each step, so that a call cut short by its time limit still returns what it
# finished. Example (main against a patch, measured in alternation, then the tests of the patch):
#
#   source bench/device.sh && dev_init call1
#   dev_variant_patch main bench/results/<folder>/change.patch -R
#   dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
#   dev_ab 2 d "--shapes qwen3-30b-a3b --tokens 64,512 --no-peer" p "--tokens 4096,16384 --skewed off --no-peer"
#   dev_ab_kernel p gemm1 GateUp
#   dev_gpu_test 300; dev_results
#
# The official tables of this tree: dev_init head; dev_module head . 16; dev_official /tmp/mod-head
# The GPU checks and decode tables for landing a change: dev_init checks; dev_checks "w4a16 w4a4cal" decode; dev_results
#
# The device's .git holds main's history as of the session's start only: `git archive` of a commit made since,
# or of another branch's tip (bb767c9 in the sixty-sixth session), fails there. For an A/B against such a commit,
# build both sides' CLIs on the CPU machine (about 2 min each at -j2: `git worktree add /tmp/wt-base REV`,
# configure with -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a, build the target fp4moe_cli), copy them to
# build-ab/fp4moe-base and build-ab/fp4moe-new, carry build-ab, and:
#
#   source bench/device.sh && dev_init ab
#   dev_carried_gtest layer 150                     # the new side's GPU tests, carried beside the CLIs
#   dev_cli_ab 3 "--shapes qwen3-30b-a3b --tokens 1,8,64 --skewed off --kernels off"
#   dev_print_ab
#
# Or build both here, side by side (about 60 s): the base from a commit of the session's start
# (git archive REV | tar -x -C /tmp/tree-old) or from this tree less a patch (dev_variant_patch base P.patch -R),
# then (cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 8 fp4moe_cli) & BT=/tmp/bt dev_tests_build 8 fp4moe_cli;
# wait, and point CLI_BASE and CLI_NEW at their src/cli/fp4moe (bench/results/h200-band-audit-512/landing/run.sh).
#
# For a rule or a diagnostic switched by environment variables, one CLI serves every side:
#
#   source bench/device.sh && dev_init audit; dev_cli
#   dev_env_ab own 3 "--shapes qwen3-30b-a3b --tokens 4,8 --skewed off --kernels off" on= off=FP4MOE_OWN_TILES=0
#
# A call carries at most 64 MiB with the tree (about 37 MiB with bench/results), and a stripped CLI is 16 MiB: carry
# them compressed instead, with xz's largest dictionary, which finds what the binaries share
# (tar -cf - -C DIR fp4moe-base fp4moe-new ... | xz -9e -T2 > build-ab/clis.tar.xz: one CLI about 6 MiB, each further
# CLI of nearly the same code almost nothing, four CLIs and a layer test binary 8.9 MB where tar -cJ's default level
# made 23.7), which dev_unpack_carried unpacks.
#
# Module builds take about 50 s with 6 jobs each, the three test binaries about 60 s; two module builds
# and the tests fit the 16 cores side by side.

# dev_init NAME: a fresh results folder /tmp/R-NAME, the device's name and driver in it.
dev_init() {
  export PYTHONUNBUFFERED=1 R=/tmp/R-$1 T0=$(date +%s)
  rm -rf "$R" && mkdir -p "$R"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$R/nvidia-smi.txt"
}

# el MESSAGE: the seconds since dev_init and the message; packs $R into $OUT/r.tgz.
el() {
  echo "[$(($(date +%s) - T0))s] $*"
  tar -czf "$OUT/r.tgz" -C "$R" . 2>/dev/null
}

# dev_variant NAME [DEST=SRC ...]: a copy of this tree at /tmp/tree-NAME (bench/ and .git left out: the
# benchmark always runs from this tree) with each DEST replaced by this tree's SRC, e.g. main's dispatch
# table carried in a results folder.
dev_variant() {
  local dir=/tmp/tree-$1 pair
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r $(ls -A | grep -v '^bench$\|^\.git$') "$dir/"
  for pair in "$@"; do cp "${pair#*=}" "$dir/${pair%%=*}"; done
}

# dev_variant_patch NAME PATCH [git apply options, e.g. -R]: a copy of this tree with PATCH applied.
dev_variant_patch() {
  local name=$1 patch=$2
  shift 2
  dev_variant "$name" && (cd "/tmp/tree-$name" && git apply "$@" "$OLDPWD/$patch") || echo "patch $patch failed"
}

# dev_module NAME [TREE] [JOBS]: the fp4moe Python module of TREE (default: this tree) in /tmp/mod-NAME,
# built for sm_90a; the log in $R/build-NAME.log, removed when the build succeeds.
dev_module() {
  local name=$1 tree=${2:-.} jobs=${3:-8} s rc
  s=$(date +%s)
  rm -rf "/tmp/mod-$name"
  (cd "$tree" && CMAKE_BUILD_PARALLEL_LEVEL=$jobs timeout 300 python3 -m pip install -q --no-build-isolation \
    --no-deps --no-index --target "/tmp/mod-$name" -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a \
    -C "build-dir=/tmp/bg-$name" .) > "$R/build-$name.log" 2>&1
  rc=$?
  [ $rc = 0 ] && rm -f "$R/build-$name.log"
  echo "[$(($(date +%s) - T0))s] module $name rc=$rc in $(($(date +%s) - s)) s"
}

# dev_tests_build [JOBS] [TARGETS...]: CMake targets of this tree built for sm_90a in $BT (default /tmp/bt; set BT
# to build two trees side by side), by default the GPU test binaries: the dispatch, kernel and layer tests.
dev_tests_build() {
  local jobs=${1:-8}
  shift
  local targets=${*:-fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests}
  local bt=${BT:-/tmp/bt}
  (cmake -S . -B "$bt" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
    cmake --build "$bt" --target $targets -j"$jobs") > "$R/cmake-${bt##*/}.log" 2>&1
  local rc=$?
  [ $rc = 0 ] && rm -f "$R/cmake-${bt##*/}.log"
  el "build rc=$rc: $targets"
}

# dev_gtest dispatch|kernel|layer TIMEOUT [FILTER]: one GPU test binary of $BT into $R/test-<name>.log.
dev_gtest() {
  local name=$1 limit=$2 filter=${3:-*} binary bt=${BT:-/tmp/bt}
  case $name in
    dispatch) binary=$bt/tests/cuda/fp4moe_cuda_dispatch_tests ;;
    *) binary=$bt/tests/cuda/fp4moe_gpu_${name}_tests ;;
  esac
  timeout "$limit" "$binary" --gtest_filter="$filter" > "$R/test-$name.log" 2>&1
  el "$name tests rc=$?"
}

# dev_pytest MODULE: the Python GPU tests against the module in MODULE, into $R/test-python.log.
dev_pytest() {
  (cd tests/python && PYTHONPATH=$1 timeout 120 python3 -m pytest -q -rs test_gpu.py) > "$R/test-python.log" 2>&1
  el "python tests: $(tail -1 "$R/test-python.log")"
}

# dev_gpu_test [TIMEOUT] [ARCHIVE]: the C++ GPU test command (tools/gpu-test.sh: the CTest label `gpu`, then
# memcheck and racecheck) on this tree, into $R/gpu-test.out and its logs in $R; with ARCHIVE, on the build
# packed in it where there is no GPU (tools/carried-gpu-tests.sh). The Python GPU tests are
# tools/gpu-python-test.sh (or dev_pytest against a module).
dev_gpu_test() {
  local limit=${1:-400} archive=${2:-} s
  s=$(date +%s)
  if [ -n "$archive" ]; then
    LOG_DIR=$R timeout "$limit" tools/carried-gpu-tests.sh run "$archive" > "$R/gpu-test.out" 2>&1
  else
    LOG_DIR=$R BUILD_DIR=/tmp/build-gpu timeout "$limit" tools/gpu-test.sh > "$R/gpu-test.out" 2>&1
  fi
  echo "gpu-test rc=$? in $(($(date +%s) - s)) s" >> "$R/gpu-test.out"
  tail -8 "$R/gpu-test.out"
  el gpu-test
}

# dev_bench TAG MODULE ARGS...: bench_moe.py with the module in MODULE, results in $R/TAG (the
# environment passes through: FP4MOE_GEMM=... dev_bench ...).
dev_bench() {
  local tag=$1 module=$2 s
  shift 2
  s=$(date +%s)
  PYTHONPATH=$module timeout 240 python3 bench/bench_moe.py --out-dir "$R/$tag" "$@" > "$R/$tag.out" 2>&1
  el "$tag rc=$? in $(($(date +%s) - s)) s"
}

# dev_official MODULE [MODES] [REGIMES]: the six official commands (bench/results/README.md: W4A16, dynamic and
# calibrated W4A4, each at decode and prefill sizes) with the module in MODULE, into $R/official-<mode>-<regime>,
# and their peer ratios at qwen3's 16384 tokens printed; or those of MODES (default "w4a16 w4a4 w4a4cal") at
# REGIMES (default "prefill decode"), e.g. the W4A4 decode tables: dev_official MODULE "w4a4 w4a4cal" decode.
dev_official() {
  local module=$1 modes=${2:-w4a16 w4a4 w4a4cal} regimes=${3:-prefill decode} mode regime args
  for regime in $regimes; do
    for mode in $modes; do
      args="--modes ${mode%cal}"
      [ "$mode" = w4a4cal ] && args+=" --w4a4-scales calibrated"
      if [ "$regime" = prefill ]; then args+=" --tokens 4096,16384 --skewed off"; else args+=" --tokens 1,8,64,512"; fi
      dev_bench "official-$mode-$regime" "$module" $args
    done
  done
  grep -H "qwen3.*| 16384 |" "$R"/official-*-prefill/*.md 2>/dev/null | cut -d'|' -f1-4,7,8,15,17
}

# dev_checks [MODES] [REGIMES]: a session's GPU checks of this tree: the GPU test command (dev_gpu_test), its
# Python module built and its Python GPU tests, then dev_official MODES REGIMES with it (default: every official
# command) and the decode tables' rows at 1 and 8 tokens printed; e.g. dev_checks "w4a16 w4a4cal" decode.
dev_checks() {
  dev_gpu_test 330
  dev_module head . 16
  dev_pytest /tmp/mod-head
  dev_official /tmp/mod-head "$@"
  grep -h "| [18] |" "$R"/official-*-decode/*.md 2>/dev/null | cut -d'|' -f2-9
}

# dev_compare OUTFILE BASE_TAGS NEW_TAGS [AB_OPTIONS...]: ab.py's comparison of two sides' rounds (comma lists
# of dev_bench tags), into $R/OUTFILE, printed without the table rules; e.g. `--kernel GateUp` compares GEMM 1.
dev_compare() {
  local out=$1 base=$2 new=$3 files_of
  files_of() {  # the JSON that bench_moe.py named after the device, one per tag
    local t list=
    for t in ${1//,/ }; do list+=${list:+,}$(ls "$R/$t"/*.json | head -1); done
    echo "$list"
  }
  shift 3
  dev_ab_json "$out" "$(files_of "$base")" "$(files_of "$new")" "$@"
}

# dev_ab_json OUTFILE BASE_JSONS NEW_JSONS [AB_OPTIONS...]: ab.py's comparison of two comma lists of result JSON
# files (a side's rounds) into $R/OUTFILE, printed without the table rules.
dev_ab_json() {
  local out=$1 base=$2 new=$3
  shift 3
  python3 bench/ab.py --compare "$base" "$new" "$@" > "$R/$out" 2>&1
  grep -v '^|---\|^| shape' "$R/$out"
}

# dev_ab ROUNDS TAG ARGS [TAG ARGS ...]: an A/B of the modules /tmp/mod-main and /tmp/mod-new (dev_module
# main TREE; dev_module new .): each TAG's bench_moe.py ARGS (one quoted string), both modules in turn,
# every TAG in turn, ROUNDS rounds, into $R/m<TAG>-<round> and $R/n<TAG>-<round>; then each TAG's
# whole-layer comparison into $R/ab-<TAG>.txt. dev_ab_kernel compares kernels of the same runs.
dev_ab() {
  local r side i argsets=()
  DEV_AB_ROUNDS=$1
  DEV_AB_TAGS=()
  shift
  while [ $# -ge 2 ]; do DEV_AB_TAGS+=("$1"); argsets+=("$2"); shift 2; done
  for ((r = 1; r <= DEV_AB_ROUNDS; r++)); do
    for side in main new; do
      for i in "${!DEV_AB_TAGS[@]}"; do
        # shellcheck disable=SC2086  # each set of arguments is split into words on purpose
        dev_bench "${side:0:1}${DEV_AB_TAGS[$i]}-$r" "/tmp/mod-$side" ${argsets[$i]}
      done
    done
  done
  for i in "${!DEV_AB_TAGS[@]}"; do dev_ab_kernel "${DEV_AB_TAGS[$i]}"; done
}

# dev_ab_kernel TAG [NAME REGEX]: TAG's rounds of the last dev_ab compared, the whole layer into
# $R/ab-<TAG>.txt, or the kernels matching REGEX (ab.py --kernel) into $R/ab-<TAG>-<NAME>.txt.
dev_ab_kernel() {
  local tag=$1 r base= new=
  for ((r = 1; r <= DEV_AB_ROUNDS; r++)); do
    base+=${base:+,}m$tag-$r
    new+=${new:+,}n$tag-$r
  done
  if [ $# -ge 3 ]; then dev_compare "ab-$tag-$2.txt" "$base" "$new" --kernel "$3"
  else dev_compare "ab-$tag.txt" "$base" "$new"; fi
}

# dev_unpack_carried: build-ab/clis.tar.xz, where a call carried it, unpacked into build-ab once per call.
dev_unpack_carried() {
  [ -f build-ab/clis.tar.xz ] && [ ! -e build-ab/.unpacked ] && tar -xJf build-ab/clis.tar.xz -C build-ab &&
    touch build-ab/.unpacked
}

# dev_cli_ab ROUNDS ARGS [TAG]: `fp4moe bench ARGS` of two CLIs in alternation (unpacked first from
# build-ab/clis.tar.xz where that was carried), ROUNDS rounds, by dev_env_ab with the sides base ($CLI_BASE, default
# build-ab/fp4moe-base) and new ($CLI_NEW, default build-ab/fp4moe-new): into $R/<TAG>-<side>-r<round>.json (TAG
# default cli), compared in $R/ab-<TAG>-new.txt. A TAG per call keeps several argument sets (custom shapes,
# modes) apart.
dev_cli_ab() {
  dev_unpack_carried
  local base=${CLI_BASE:-build-ab/fp4moe-base} new=${CLI_NEW:-build-ab/fp4moe-new}
  dev_env_ab "${3:-cli}" "$1" "$2" base=CLI="$base" new=CLI="$new"
}

# dev_cli_ab_modes ARGS: dev_cli_ab of `fp4moe bench ARGS` in every mode, the W4A4 ones (tags dyn and cal) three
# rounds and W4A16 two, then every comparison printed: the A/B of a change to kernels that all modes run.
dev_cli_ab_modes() {
  dev_cli_ab 3 "$1 --mode w4a4" dyn
  dev_cli_ab 3 "$1 --mode w4a4 --scales calibrated" cal
  dev_cli_ab 2 "$1" w4a16
  dev_print_ab
}

# dev_carried_gtest dispatch|kernel|layer TIMEOUT [FILTER] [SANITIZER]: a GPU test binary built on the CPU machine and
# carried as build-ab/fp4moe_gpu_<name>_tests (fp4moe_cuda_dispatch_tests), or in build-ab/clis.tar.xz beside the
# CLIs, into $R/test-<name>.log (with SANITIZER, compute-sanitizer's tool of that name runs it, into
# $R/sanitizer-<tool>-<name>.log); prints the verdicts.
dev_carried_gtest() {
  local name=$1 limit=$2 filter=${3:-*} tool=${4:-} binary log
  dev_unpack_carried
  case $name in
    dispatch) binary=build-ab/fp4moe_cuda_dispatch_tests ;;
    *) binary=build-ab/fp4moe_gpu_${name}_tests ;;
  esac
  if [ -n "$tool" ]; then
    log=$R/sanitizer-$tool-$name.log
    timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 3 "$binary" --gtest_filter="$filter" \
      > "$log" 2>&1
  else
    log=$R/test-$name.log
    timeout "$limit" "$binary" --gtest_filter="$filter" > "$log" 2>&1
  fi
  el "$name tests${tool:+ under $tool} rc=$?"
  grep -E '^\[  (PASSED|FAILED)|FAILED  \]|ERROR SUMMARY|RACECHECK SUMMARY' "$log"
}

# dev_print_ab: the rows of every comparison this call made ($R/ab-*.txt), each under its file's name.
dev_print_ab() {
  local f
  for f in "$R"/ab-*.txt; do
    echo "== ${f##*/}"
    grep -E '^\| [a-z]' "$f"
  done
}

# dev_cli: the fp4moe CLI of this tree, built by dev_tests_build in $BT (default /tmp/bt); CLI names it afterwards.
dev_cli() {
  dev_tests_build "$(nproc)" fp4moe_cli
  CLI=${BT:-/tmp/bt}/src/cli/fp4moe
}

# dev_env_ab TAG ROUNDS "ARGS" SIDE=ENV ...: `fp4moe bench ARGS` once per side in turn, each side with its
# environment ENV (comma-separated VAR=VALUE pairs, or nothing: the defaults) on the CLI $CLI (dev_cli), or on the
# one a pair CLI=PATH names, ROUNDS rounds, into $R/<TAG>-<SIDE>-r<round>.json; then every side after the first
# compared with the first (ab.py) into $R/ab-<TAG>-<SIDE>.txt (dev_ab_json). For a rule's switch, or a diagnostic
# patch's variables:
#   dev_env_ab handoff 2 "--tokens 8,64 --skewed off --kernels off" on= off=FP4MOE_TILE_HANDOFF=0
dev_env_ab() {
  local tag=$1 rounds=$2 args=$3 r pair side first= bin vars
  shift 3
  local -A env_of=() list_of=()
  local sides=()
  for pair in "$@"; do
    side=${pair%%=*}
    sides+=("$side")
    env_of[$side]=${pair#*=}
  done
  for ((r = 1; r <= rounds; r++)); do
    for side in "${sides[@]}"; do
      bin=$CLI vars=()
      for pair in ${env_of[$side]//,/ }; do
        if [[ $pair == CLI=* ]]; then bin=${pair#CLI=}; else vars+=("$pair"); fi
      done
      # shellcheck disable=SC2086  # the arguments are split into words on purpose
      env "${vars[@]}" timeout 240 "$bin" bench $args --json "$R/$tag-$side-r$r.json" > "$R/$tag-$side-r$r.txt" 2>&1
      el "$tag $side r$r rc=$?"
      list_of[$side]+=${list_of[$side]:+,}$R/$tag-$side-r$r.json
    done
  done
  first=${sides[0]}
  for side in "${sides[@]:1}"; do
    echo "== $tag: $first -> $side"
    dev_ab_json "ab-$tag-$side.txt" "${list_of[$first]}" "${list_of[$side]}"
  done
}

# dev_results: every test log's verdict lines, and the first errors of the benchmark runs.
dev_results() {
  grep -HE '^\[  (PASSED|FAILED)|FAILED|tests? from .* ran' "$R"/test-*.log 2>/dev/null
  grep -h 'Error' "$R"/*.out 2>/dev/null | head -5
  el end
}
