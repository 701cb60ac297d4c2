# shellcheck shell=bash
# Sourced by this folder's run scripts after `dev_init` and `dev_unpack_carried` (bench/device.sh): the diagnostic CLI
# carried in build-ab/clis.tar.xz (main 36fa30a + beside-diag.patch) off against FP4MOE_DIAG_BESIDE=1, two rounds.
# shellcheck disable=SC2034  # CLI is the binary dev_env_ab runs (bench/device.sh)
CLI=build-ab/fp4moe-diag
SIDES="off= on=FP4MOE_DIAG_BESIDE=1"
ROWS="--skewed off --kernels off --mem-gib 16"

# custom TAG MODE_ARGS E H I K TOKENS: one custom shape's batches, off against on.
custom() {
  # shellcheck disable=SC2086  # SIDES is split into its sides on purpose
  dev_env_ab "$1" 2 "--experts $3 --hidden $4 --intermediate $5 --top-k $6 --tokens $7 $ROWS $2" $SIDES > /dev/null
}

# beside_ab_shapes "TAG E H I K TOKENS" ...: each shape in W4A16, then in calibrated W4A4.
beside_ab_shapes() {
  local shape
  for shape in "$@"; do
    # shellcheck disable=SC2086  # a shape is split into its words on purpose
    set -- $shape
    custom "$1-w4a16" "" "$2" "$3" "$4" "$5" "$6"
    custom "$1-cal" "--mode w4a4 --scales calibrated" "$2" "$3" "$4" "$5" "$6"
  done
}

# beside_print: every comparison's rows, the columns that differ between rows.
beside_print() {
  dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
}
