// The tuning table: which GEMM kernel and tile shape runs for a batch. The choice depends only on
// host-known sizes (the per-expert counts live on the device), so a captured graph keeps it.
//
// Rows are keyed by the expected token rows per local expert, r = T*k/E, and hold a column for
// sm_80+ (mma.sync) and one for Hopper (wgmma allowed). Every crossover below was measured with
// each kernel forced (bench_moe.py --gemm), W4A16, uniform routing, whole layer in us.
//
// Decode and small batches, on the H200 (bench/results/h200-register-ring-sweep/, one file per
// forced shape; the mma.sync kernels stream weights through a register ring of depth d, -dN):
//
//   T     rows/expert (qwen3 gpt-oss dsv4 dsv3)   mma8-r64-w4-s16-d8 / -s16-d4 / -s8-d4 / -s8-d8 / -s8-d2, per shape
//   1     0.06  0.03  0.02  0.03     qwen3 22.0/22.8/24.2/23.4/26.8   gpt-oss 38.7/44.0/45.9/41.6/50.7
//                                    dsv4  44.5/49.1/51.2/47.3/55.8   dsv3    73.4/76.2/82.0/79.0/91.6
//   2     0.13  0.06  0.05  0.06     qwen3 26.3/27.6/28.7/28.2/30.7   gpt-oss 53.7/62.5/57.4/58.3/59.5
//                                    dsv4  68.5/65.2/69.1/64.4/73.6   dsv3    128/122/125/136/129
//   8     0.5   0.25  0.19  0.25     all five within 5% of each other on every shape (noise is about 5%)
//   64    4     2     1.5   2        likewise, except s16-d8 4-7% behind on qwen3 and dsv3
//
//   T     shape               rows/expert   mma8-s8-d4  mma16-s4-d4  mma16-s4-d2  mma16-s8-d4  mma32-s4-d2
//   64    qwen3-30b-a3b       4                   111          129          143          129
//   128   qwen3-30b-a3b       8                   149          134          147          133
//   128   gpt-oss-120b        4                   518          583          653          594
//   256   gpt-oss-120b        8                   728          601          663          599
//   128   deepseek-v4-flash   3                  1002         1121         1204         1092
//   256   deepseek-v4-flash   6                  1223         1208         1296         1187
//   128   deepseek-v3         4                  1723         1973         2198         1997
//   256   deepseek-v3         8                  2584         2174         2289         2111
//   512   qwen3-30b-a3b       32                                299                                   258
//   512   gpt-oss-120b        16                               783                                   804
//   512   deepseek-v4-flash   12                              1367                                  1566
//   512   deepseek-v3         16                              2809                                  2764
//
// Split K inside the CTA (-kN: N slices of the warps, each a share of K, summed in shared memory)
// at 1, 2 and 8 tokens, H200, forced (bench/results/h200-split-k-sweep/; that build also sent GEMM
// 2's weights to L2 early, a change later dropped for being 2-10% slower, in every tile alike):
//
//   tile                  qwen3 T=1/2/8      gpt-oss           dsv4-flash        deepseek-v3
//   mma8-r64-w4-s16-d8    22.2/27.9/56.0     40.4/56.6/134.7   47.7/69.4/197.5   78.2/134.7/418.8
//   mma8-r64-w4-s8-d4     22.7/28.7/57.1     44.6/59.0/135.5   50.2/71.2/194.4   84.2/132.4/429.3
//   mma8-r64-w4-s8-d4-k2  20.6/24.0/56.4     38.6/53.5/132.1   41.4/64.6/190.8   72.9/128.1/421.8
//   mma8-r32-w2-s16-d8-k2 18.4/29.5/70.2     36.2/53.7/145.4   45.6/68.8/215.6   78.3/141.6/470.3
//   mma8-r16-w1-s16-d8-k4 25.6/41.9/124.7    43.9/79.3/235.5   57.0/101.6/337.2  111.8/202.8/656.6
//
// So two K slices of the 8-stage decode tile up to about one token in eight experts (on these
// shapes; the line is now GEMM 2's waves of it, for_gemm2_waves, which models with few experts
// reach at several rows per expert): 4-13% faster
// than the unsplit 16-stage tile at 1 and 2 tokens on every shape (a 1-token batch has about one
// CTA per SM, and each warp's K loop is a chain of round trips to DRAM; the slices halve the
// chain). From 8 tokens on it gains nothing over the unsplit 8-stage tile: at T=8 the sweep above
// puts it up to 2.5% ahead and a second one (band-* files, two alternating runs each) 0-3% behind,
// and at 64-128 tokens it is 2-12% behind. So 8 stages and a 4-deep ring, unsplit, from there to 5
// rows per expert (it beat the 16-token tile by 11-15% at 3-4 rows and tied it at 6 then; on
// Hopper its 128-row form now runs to 6, kSmallBatchTileTwoMTiles below); the 16-token tile to 14
// rows (at 16 rows it ties the 32-token tile); the 32-token tile to 32. The two-m-tile tiles keep
// shallow rings: at 4 stages a 4-deep ring took the 32-token tile to 168 registers and
// was 1-6% slower than a 2-deep one, while the 16-token tile needs its 4-deep ring (2-deep: 6-13%
// slower). Eight warps of one m-tile each instead of four of two were 4-14% slower for the 16- and
// 32-token tiles (shared-memory weights, crossover-t256-512 files). The 32-row two-slice tile, the
// fastest at one token on qwen3 and gpt-oss then, stayed compiled for sweeps until the decode
// kernels left it behind the table on every shape (qwen3 T=1 15.5 against 16.7 us,
// bench/results/h200-profiles/t1-*).
//
// From 32 rows, the mma.sync column (H200, mma64-*-768_1024 and wgmma128-*-768_1024 files, before
// the 64-token wgmma tile): the 64-token tile with 2 stages and a 2-deep ring (168 registers; 4
// stages took it to 238 and 4-9% slower) is 8% ahead of the 32-token tile at 48 rows (qwen3 T=768:
// 317 against 345 us) and loses badly to it at 24-32 (gpt-oss T=768: 1268 against 886), so it
// keeps the 32-48 row band alone.
//
// On Hopper, from 24 rows (H200, bench/results/h200-epilogue/band-*, after 3a430ed's epilogue
// change; each tile forced (band-<tile>), except mma32, whose figures are from the run with the
// table as it was (band-table), which chose it at these rows; whole layer in us):
//
//   shape              T     rows/expert   mma32    mma64   wgmma64  wgmma128
//   gpt-oss-120b       768   24            858.6   1337.5     879.2    1062.2
//   deepseek-v4-flash  1024  24           1712.8   2622.6    1713.3    2031.2
//   deepseek-v3        768   24           3009.8   4481.2    2892.8    3395.6
//   qwen3-30b-a3b      512   32            244.9    302.1     227.3     265.1
//   gpt-oss-120b       1024  32           1201.6   1351.8     950.9    1077.0
//   deepseek-v3        1024  32           4187.5   4526.2    3217.6    3515.8
//   deepseek-v4-flash  1536  36                    2651.8    1957.3    2063.8
//   qwen3-30b-a3b      768   48                     320.7     253.8     279.1
//   gpt-oss-120b       1536  48                    1418.5    1096.2    1127.6
//   deepseek-v4-flash  2048  48                    2747.0    2153.7    2182.8
//   deepseek-v3        1536  48                    4734.8    3627.2    3738.0
//   qwen3-30b-a3b      1024  64                     446.7     347.1     338.1
//   gpt-oss-120b       2048  64                    1970.8    1451.9    1342.7
//   deepseek-v3        2048  64                    6758.2    4842.9    4434.6
//
// So the 64-token wgmma tile from 24 to 48 rows (7-28% ahead of the best other tile from 32 rows,
// 2% behind the 32-token tile at 24 rows on gpt-oss and dsv4, 4% ahead on dsv3), and the 128-token
// one beyond (3-9% ahead at 64 rows). The 64-token mma.sync tile no longer wins anywhere on Hopper.
// Later a 32-token wgmma tile with two CTAs per SM took 10-24 rows from the mma.sync tiles
// (kWgmma32TwoPerSm below).
//
// Larger batches, on the H100 (bench/results/nvidia-h100-80gb-hbm3-w4a16-crossover-*.md, code
// 39c6879, weights then staged in shared memory): the 64-token mma.sync tile up to 48 rows per
// expert (deepseek-v4-flash, 2880 us against 3474 for mma32 and 3034 for wgmma), then wgmma: at 64
// rows it is 15-27% ahead of the best mma.sync tile on gpt-oss and deepseek-v3 (gpt-oss 1676
// against 1982, deepseek-v3 4910 against 6734) and 8% behind on qwen3 (497 against 458; K = 2048 /
// 768 is short for a 256-row CTA's pipeline).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cuda/common/launch.h"
#include "cuda/gemm/decode_gemm.h"
#include "cuda/gemm/grouped_gemm.h"
#include "fp4moe/error.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::cuda {

// The one-token decode tile, and the same with K in four slices instead of two. At one token four
// slices are faster where the GEMM's CTAs all fit on the device at once, and slower where they do
// not (512 threads at 64 registers: two CTAs per SM, so a second wave). H200, W4A16, uniform, whole
// layer in us, both GEMMs forced to one tile (bench/results/h200-epilogue-addressing/k4-sweep-*);
// CTAs with work per GEMM at T=1 = top-k experts x 64-row blocks, GEMM 1 / GEMM 2:
//
//   shape              CTAs (G1 / G2)   -k2 T=1/2/8          -k4 T=1/2/8
//   qwen3-30b-a3b      192 / 256        20.2 / 23.8 / 53.0   19.0 / 27.1 / 67.2
//   gpt-oss-120b       360 / 184        37.6 / 49.7 / 120.9  32.5 / 50.1 / 139.9
//   deepseek-v4-flash  384 / 384        39.6 / 61.5 / 169.0  39.8 / 65.7 / 199.9
//   deepseek-v3        512 / 896        68.4 / 122.8 / 376.4 73.5 / 132.0 / 420.3
//
// (264 CTAs fit at once on the 132 SMs.) So a GEMM given the two-slice tile whose CTAs with work,
// at most min(T*k, E) experts times its row blocks, fit in one wave of the four-slice tile may run
// that one instead (for_grid). Which GEMMs should was measured at one and two tokens with each
// GEMM's slice count set apart (bench/results/h200-four-slice-line/, three alternating rounds of one
// build; shapes as experts / hidden / intermediate / top-k, each GEMM as CTAs with work / K steps of
// 64 a slice on four slices; whole layer in us, GEMM 1 and GEMM 2 slices 22 / 24 / 42 / 44):
//
//   shape (T)             GEMM 1    GEMM 2    22     24     42     44
//   qwen3-30b-a3b (1)     192 / 8   256 / 3   14.7   18.3   15.9   15.0   (fifty-fourth session)
//   gpt-oss-120b (1)      360 / 12  184 / 12  +19%   best   -      -      (GEMM 1 beyond one wave)
//   64/3072/3072/2 (1)    192 / 12   96 / 12  20.1   20.9   21.1   20.5
//   64/3072/3072/2 (2)    384 / 12  192 / 12  24.8   26.7   -      -      (GEMM 1 beyond one wave)
//   64/2048/2048/2 (1)    128 / 8    64 / 8   14.4   14.1   14.2   12.9
//   64/2048/2048/2 (2)    256 / 8   128 / 8   19.3   16.4   20.1   16.5
//   64/2048/3072/2 (1)    192 / 8    64 / 12  17.4   15.8   17.7   16.1
//   64/2048/3072/2 (2)    384 / 8   128 / 12  25.1   19.9   -      -      (GEMM 1 beyond one wave)
//   64/2048/1024/4 (1)    128 / 8   128 / 4   13.4   13.7   13.2   12.8
//   64/2048/1024/4 (2)    256 / 8   256 / 4   20.5   19.8   17.5   16.2
//   64/3072/2048/2 (1)    128 / 12   96 / 8   16.6   16.8   16.1   14.8
//   64/3072/2048/2 (2)    256 / 12  192 / 8   22.4   19.6   18.7   19.1
//
// and at one token on square shapes of 64 experts, top-2, hidden = intermediate = 2304, 2560 and 2816 (9-11
// steps), both GEMMs on four slices 4-7% ahead of both on two. So GEMM 2 takes four slices where each
// keeps kFourSliceMinSteps K steps (qwen3's 3 steps: both GEMMs on two slices best, on four +2%;
// 64/2048/1024/4's 4 steps: both on four best, on two +5%), and GEMM 1 takes them only beside a
// four-slice GEMM 2 (GEMM 1 on four beside GEMM 2 on two was 3-12% behind the best on every one-token
// row). The rule picks the best combination or one within about 2% on every row but one:
// 64/3072/3072/2 at two tokens (+8%: GEMM 2 on four at 192 CTAs beside GEMM 1's 384 on two, where
// gpt-oss's 184 beside 360 gain 19%; not explained). The rule it replaced (four slices for each GEMM
// whose slices keep 10 steps) was 4-27% slower on six of these rows (2304 among them) and 2% faster on
// two (64/2048/3072/2 at one token, 64/3072/2048/2 at two); at the benchmark shapes both pick the same
// tiles.
inline constexpr MmaTileConfig kDecodeTile = {4, 1, 8, 8, 4, false, 2};
inline constexpr MmaTileConfig kDecodeTileOneWave = {4, 1, 8, 8, 4, false, 4};
inline constexpr int kFourSliceMinSteps = 4;

// Past one wave, GEMM 2 still takes four slices where each keeps kFourSliceLongSteps K steps and the CTAs it
// expects (uniform routing) fill at most kFourSliceLongMaxWaves waves: there the chain each warp walks is long
// enough that halving it pays for the second wave (the slices are summed inside the CTA, so the split adds no
// DRAM traffic). Each GEMM's slice count set apart first (bench/results/h200-slice-audit/call1: FP4MOE_DIAG_SLICES,
// three alternating rounds of one build, W4A16 uniform, whole layer in us; GEMM 2's expected CTAs as waves of the
// four-slice tile, and its K steps a slice on four; GEMM 1 and GEMM 2 both on two slices -> GEMM 2 on four):
//
//   mixtral 8/4096/14336/2        T=4 [1.45 / 56] 159.9 -> 144.9 (-9.4%)   T=8, T=16 [1.94 / 56] -2.5%, level
//   llama4-scout 16/5120/8192/1   T=8 [2.12 / 32] -3.4%                    T=16 [3.33 / 32] +1.7%
//   64/3072/3072/2                T=4 [1.45 / 12] -3.1%
//   gpt-oss-20b 32/2880/2880/4    T=2 [1.36 / 12] +1.1%                    T=3 [1.88 / 12] +4.5%
//   deepseek-v4-flash             T=1 [1.45 / 8] +4.3%
//   deepseek-v2-lite 64/2048/1408/6  T=2 [1.45 / 6] +16%
//   qwen3-235b 128/4096/1536/8    T=1 [1.94 / 6] +8.5%
//
// then a first form of the rule (16 steps, the CTAs with work at most within 2.5 waves) against main 36ee71f, both
// CLIs, three alternating rounds (call2/; three shapes made to place the steps line at 16, 24 and 32 steps):
//
//   32/4096/4096/2   (16 steps)   T=3 [1.45] 57.8 -> 55.1 (-4.8%)   T=4 [1.94] +3.1%   T=5 [2.18] +1.9%
//   32/3072/6144/2   (24 steps)   T=4 [1.45] 76.6 -> 71.1 (-7.2%)   T=5 [1.64] -6.2%   T=6 [2.00] +0.9%
//   16/4096/8192/2   (32 steps)   T=3 [1.45] 94.8 -> 87.1 (-8.2%)   T=4 [1.70] -2.8%   T=5 [1.94] -0.1%
//   mixtral          (56 steps)   T=4 [1.45] 161.5 -> 143.9 (-10.9%)   T=8, T=16 [1.94] +0.3%, -0.9%
//   llama4-scout     (32 steps)   T=8 [2.12] 112.2 -> 107.8 (-4.0%)
//   dbrx 16/6144/10752/4 (42)     T=1 [1.45] 138.1 -> 125.8 (-8.9%)
//   grok-1 8/6144/32768/2 (128)   T=2 [1.45] 382.1 -> 385.9 (+1.0%, within the rounds' 2.8% spread)
//
// Every gain but llama4-scout's is at most 1.70 waves, and from 1.94 waves it is level or lost, so the line sits
// where the K-split tile's own does (kSplitTileMaxWaves), in expected CTAs. GEMM 1 keeps its rule (four slices
// only within one wave and beside a four-slice GEMM 2): on four beside these GEMM 2s it lost (call 1: mixtral T=4
// 153.7 against 144.9, llama4-scout T=8 110.1 against 107.1). As landed, against 36ee71f (call3/, three rounds):
// 32/4096/4096/2 T=3 -2.6%, 32/3072/6144/2 T=4 -7.8% and T=5 -5.5%, 16/4096/8192/2 T=3 -8.5% and T=4 -2.1%, dbrx
// T=1 -8.2%, mixtral T=4 160.9 -> 143.6 us (-10.7%); grok-1 T=2 +3.5% (call 2: +1.0%; the rounds' spread 3.3-3.7%,
// so a 128-step slice gains nothing there); the batches the line leaves as they were 0.96-1.015. Measured in W4A16
// only: W4A4's GEMMs stream the same weights, on fake-quantized rows.
inline constexpr int kFourSliceLongSteps = 16;
inline constexpr double kFourSliceLongMaxWaves = 1.75;

// The decode kernels (use_decode_kernels below) run these tiles as the table gives them. From the
// seventh session W4A16's ran the two-slice tile with two m-tiles per warp in its place (128-row
// blocks; bench/results/h200-decode-r128: 2-4% faster then), which had turned 2-4% slower by the
// fifty-fourth session (the decode kernels changed in between, the resident token rows among them;
// which change turned it was not measured), and was removed. H200, W4A16, uniform, whole layer in
// us, one build with it on and off, three alternating rounds (bench/results/h200-decode-two-m-tiles/;
// qwen3's one-token GEMMs then ran the four-slice tile, deepseek-v4-flash's two-token batch runs the
// general chain; every row of 1-4 tokens that it did not reach within 0.4%):
//
//   shape              T=1 (on / off)   T=2 (on / off)
//   qwen3-30b-a3b      -                21.8 / 21.3
//   gpt-oss-120b       27.4 / 26.8      44.8 / 42.8
//   deepseek-v4-flash  36.0 / 34.7      -

// One GEMM's grid as for_grid weighs it for the K-split tile: its CTAs with work at most and on average (uniform
// routing), and its K (its weights' columns).
struct SplitGemmGrid {
  int64_t active_ctas;
  int64_t expected_ctas;
  int k;
};

// The tiles of GEMM 1 and GEMM 2 for the table's choice `chosen`: kDecodeTileOneWave in place of kDecodeTile for
// GEMM 2 where its CTAs fit in one wave of it (one_wave_ctas: SMs x its CTAs per SM) and each of its slices keeps
// kFourSliceMinSteps K steps, or where they keep kFourSliceLongSteps and its expected CTAs fill at most
// kFourSliceLongMaxWaves waves; and for GEMM 1 where the first holds for it and GEMM 2 takes it too.
inline std::pair<MmaTileConfig, MmaTileConfig> for_grid(const MmaTileConfig& chosen, SplitGemmGrid gate_up,
                                                        SplitGemmGrid down, int64_t one_wave_ctas) {
  if (chosen != kDecodeTile) return {chosen, chosen};
  const auto steps = [](SplitGemmGrid g) { return ceil_div(ceil_div(g.k, kTileK), kDecodeTileOneWave.split_k); };
  const auto fits_one_wave = [&](SplitGemmGrid g) {
    return g.active_ctas <= one_wave_ctas && steps(g) >= kFourSliceMinSteps;
  };
  const bool down_four = fits_one_wave(down) || (steps(down) >= kFourSliceLongSteps &&
                                                 double(down.expected_ctas) <= kFourSliceLongMaxWaves * one_wave_ctas);
  return {down_four && fits_one_wave(gate_up) ? kDecodeTileOneWave : kDecodeTile,
          down_four ? kDecodeTileOneWave : kDecodeTile};
}

// The decode kernels (gemm/decode_gemm.h: the plan built in each CTA, the combine in GEMM 2's last
// CTA of each row block, two kernels instead of four) run W4A16 batches of at most 16 pairs whose
// GEMM 2 CTAs with work fit in one wave of its tile. Beyond one wave, and at 32 pairs, they were
// slower than the four kernels; a likely cost is that every GEMM 2 CTA holds its SM slot for a
// counter round trip at its end (not profiled). H200, W4A16, uniform, whole layer in us, the
// general chain -> the decode kernels at every batch of at most 32 pairs, three alternating rounds
// each (bench/results/h200-decode-kernels/ab-*); below each, GEMM 2's CTAs with work / one wave of
// its tile (T=4 on qwen3: the unsplit tile, 8 CTAs per SM):
//
//   shape              T=1                T=2                T=4
//   qwen3-30b-a3b      18.9 -> 16.1       23.8 -> 23.2       35.1 -> 36.7
//                      256 / 264          512 / 528          960 / 1056, 32 pairs
//   gpt-oss-120b       31.2 -> 31.0       49.8 -> 48.7       75.5 -> 76.9
//                      184 / 264          368 / 528          736 / 528
//   deepseek-v4-flash  39.9 -> 40.7       61.5 -> 60.8       108.1 -> 112.6
//                      384 / 528          768 / 528          1536 / 528
//   deepseek-v3        68.5 -> 67.8       123.0 -> 126.0     224.2 -> 236.8
//                      896 / 528          1792 / 528         3584 / 528, 32 pairs
//
// The rule keeps four gains (0.2-2.8 us) and drops the six losses (1.4-12.6 us); it misses two
// small gains and takes one small loss (0.7-0.8 us each).
inline constexpr int kDecodeKernelsMaxPairs = 16;

// W4A4 batches take them as well where x is small enough for quant/quantize.h's decode kernel,
// whose CTAs each take the amax of all of x (kDecodeQuantizeMaxElements): four kernels instead of
// seven. With the same rule, against the seven (H200, uniform, two alternating rounds,
// bench/results/h200-w4a4-decode-kernels/ab-*): T=1 qwen3 27.6 -> 24.7 us, gpt-oss 41.2 -> 39.2,
// deepseek-v4-flash 48.3 -> 45.5; T=2 qwen3 34.5 -> 31.5, gpt-oss 55.5 -> 55.7; the rows the rule
// leaves to the chain unchanged.
inline bool use_decode_kernels(QuantMode mode, int64_t pairs, int64_t x_elements, bool tiles_have_decode_kernels,
                               int64_t gemm2_active_ctas, int64_t gemm2_one_wave_ctas) {
  static_assert(kDecodeKernelsMaxPairs <= kWarpPlanMaxPairs, "one warp plans the batch");
  return (mode == QuantMode::kW4A16 || x_elements <= kDecodeQuantizeMaxElements) && pairs <= kDecodeKernelsMaxPairs &&
         tiles_have_decode_kernels && gemm2_active_ctas <= gemm2_one_wave_ctas;
}

// The small-batch tile (to 5 rows per expert, past for_gemm2_waves' line), and the same with two
// m-tiles per warp (128-row blocks, 96 registers: 5 CTAs per SM against 8). There each warp's K loop
// is a chain of DRAM round trips, so a GEMM lasts about as many CTA lifetimes as it has waves, and
// the last wave is often a small part one (Nsight Compute, qwen3 T=8: 1.64 waves;
// bench/results/h200-final-7). The table
// against the 128-row tile forced for both GEMMs, H200, W4A16, uniform, whole layer in us, two
// rounds (bench/results/h200-r128-unsplit; at T=4 deepseek-v4-flash's table runs the decode tile):
//
//   shape              T=4 (table / -r128)  T=8 (table / -r128)
//   qwen3-30b-a3b      34.5 / 37.2          53.8 / 52.5
//   gpt-oss-120b       75.8 / 85.7          123.5 / 117.8
//   deepseek-v4-flash  110.2 / 124.2        175.9 / 187.6
//   deepseek-v3        230.8 / 226.8        399.0 / 391.2
//
// The 128-row tile won where it needs fewer waves than the 64-row one for the touched experts one
// expects (uniform routing), and lost where it needs as many with half the CTAs. So a GEMM given
// the small-batch tile runs the 128-row one where that takes fewer waves (for_waves). Against the
// table without this rule, two rounds each (bench/results/h200-wave-rule/ab-*), W4A16 uniform /
// skewed: qwen3 T=8 53.8 -> 51.5; T=64 gpt-oss 469 -> 464 / 393 -> 374, dsv4-flash 760 -> 745 /
// 711 -> 675, deepseek-v3 1562 -> 1525 / 1458 -> 1424; T=128 gpt-oss 528 -> 510 / 564 -> 536,
// dsv4-flash 998 -> 945 / 999 -> 975, deepseek-v3 1883 -> 1765 / 2180 -> 1972; T=16-32 dsv4-flash
// -4% / +0.6%, deepseek-v3 -0.6% / -5.5%. It costs gpt-oss T=8 and T=16 1-2% (121.0 -> 122.3,
// 203 -> 206) and deepseek-v3 T=8 up to 3.5% (373 -> 387; main ran 367-380 there); W4A4 at 8-32
// tokens likewise (qwen3 T=8 -1.5%, deepseek-v3 T=8 +3%, the rest within 2%). With many waves the
// rule always takes the 128-row tile, whose warps keep twice the bytes in flight.
inline constexpr MmaTileConfig kSmallBatchTile = {4, 1, 8, 8, 4};
inline constexpr MmaTileConfig kSmallBatchTileTwoMTiles = {4, 2, 8, 8, 4};

// At 6 rows per expert, measured again on the H200 (the table then gave the 16-token tile from 5
// rows), W4A16, the table against the 8-token tiles forced, two alternating rounds, whole layer in
// us (bench/results/h200-t64-tiles/call3/; uniform / skewed; the forced runs have no large tiles):
//
//   shape              T     table (mma16)      mma8-r128 forced   mma8-r64 forced
//   qwen3-30b-a3b      96    116.1 / 125.3      112.6 / 114.0      117.1 / 115.9
//   gpt-oss-120b       192   590.0 / 584.3      551.5 / 609.8      575.6 / 632.4
//   deepseek-v3        192   2056.9 / 2101.7    1976.7 / 2085.2    2072.8 / 2184.4
//   deepseek-v4-flash  256   1177.2 / 1210.6    1132.2 / 1210.0    1193.4 / 1278.0
//
// So the 128-row 8-token tile to 6 rows on Hopper, for both GEMMs (the wave rule, which keeps the
// 64-row tile where both take as many waves, would pick the slower one at qwen3 T=96). At 7 rows the
// 16-token tile wins or ties (the 128-row tile +0.6..+5.8%, the 64-row one +0.6..+12%). As landed,
// against the table without the row (bench/results/h200-t64-tiles/call4/, at 5.5 and 6 rows per
// expert, both modes and routings, large tiles as the table has them, two alternating rounds):
// faster on all 32 rows, -1.7..-11.6%, median -8.7% (qwen3 W4A16 T=88 115.0 -> 104.8 us, gpt-oss
// T=192 skewed 580.6 -> 513.3, deepseek-v3 T=176 1954.0 -> 1813.6).

// Local experts that a batch of `tokens` touches on average when each token picks top_k of all
// experts uniformly: the count the wave rule sizes grids by (the host never sees the routing).
inline double expected_touched_experts(int64_t tokens, const MoeConfig& config) {
  const double miss = 1.0 - double(config.top_k) / config.num_experts;
  return config.num_local_experts() * (1.0 - std::pow(miss, double(tokens)));
}

// The expected touched experts rounded up to whole experts, forgiving the formula's rounding: at one token it is top_k
// exactly, but computes as 8.000000000000014 for kimi-k2's 384 experts (160 and 72 experts at top-8 alike), which must
// not count a ninth.
inline int64_t whole_touched_experts(double touched) { return int64_t(std::ceil(touched - 1e-9)); }

// chosen stays unless it is the small-batch tile and the two-m-tile one takes fewer waves: its
// ctas_two CTAs, one_wave_two at once, against ctas, one_wave at once.
inline MmaTileConfig for_waves(const MmaTileConfig& chosen, int64_t ctas, int64_t one_wave, int64_t ctas_two,
                               int64_t one_wave_two) {
  if (chosen != kSmallBatchTile || one_wave <= 0 || one_wave_two <= 0) return chosen;
  return ceil_div(ctas_two, one_wave_two) < ceil_div(ctas, one_wave) ? kSmallBatchTileTwoMTiles : chosen;
}

// The 32-token wgmma tile with two CTAs per SM, for 10-24 rows per expert on Hopper. Its consumer
// warps hold 32 accumulators, so 96 registers each (80 per thread at launch) let an SM hold two
// CTAs: while one fills its ring or runs its epilogue, the other streams weights. At these rows
// the mma.sync tiles reached half the copy bandwidth (Nsight Compute at real clocks, T=512:
// gpt-oss and deepseek-v3 on the 32-token tile 50-54% of DRAM bandwidth at 24% achieved
// occupancy; qwen3 on the 64-token wgmma tile, one CTA per SM, 39-40%;
// bench/results/h200-wgmma-occupancy/main-1bdb0d6/ncu512-*). H200, W4A16, uniform, whole layer in
// us, the table against this tile forced, min of two alternating rounds
// (bench/results/h200-wgmma-occupancy/sweep*/; rows per expert in brackets):
//
//   shape              table -> wgmma32-r256-w8-s8-c2
//   qwen3-30b-a3b      T=128 [8] 126.2 -> 139.2   T=192 [12] 138.5 -> 143.3   T=256 [16] 167.2 -> 149.1
//                      T=384 [24] 187.2 -> 172.5  T=512 [32] 215.7 -> 217.1   T=640 [40] 229.1 -> 258.3
//   gpt-oss-120b       T=192 [6] 572.4 -> 633.4   T=256 [8] 576.8 -> 629.4    T=384 [12] 684.9 -> 674.7
//                      T=512 [16] 767.4 -> 676.9  T=768 [24] 830.6 -> 720.6   T=896 [28] 871.8 -> 858.0
//                      T=1024 [32] 908.3 -> 1002.0
//   deepseek-v4-flash  T=256 [6] 1074.0 -> 1204.6 T=384 [9] 1231.2 -> 1290.1  T=512 [12] 1285.8 -> 1234.9
//                      T=640 [15] 1474.3 -> 1237.5 T=768 [18] 1522.6 -> 1402.5 T=1024 [24] 1648.9 -> 1405.1
//   deepseek-v3        T=256 [8] 2013.7 -> 2087.6 T=384 [12] 2360.7 -> 2257.2 T=512 [16] 2725.2 -> 2239.7
//                      T=768 [24] 3022.4 -> 2639.7 T=896 [28] 2874.9 -> 3018.3 T=1024 [32] 3062.8 -> 3431.6
//
// So from 10 rows (it loses 4-12% at 6-9 rows and 21-33% at 3-4, and 3.4% on qwen3 at 12) to 24
// (it wins 8-15% at 24 rows; from 28 on the 64-token tile ties it or wins, by up to 18%). With it
// in the table, against the table without it, both modes and routings, two rounds
// (bench/results/h200-wgmma-occupancy/landing/ab-*): 6-17% faster at 16-24 rows on every shape,
// skewed batches of 512 tokens (whose hot experts hold far more rows than the average) included;
// -5..+6% at 12 rows, within those rows' spread between runs. The same tile with one CTA per SM
// was 5-30% slower than with two on every row; 16-token wgmma tiles with two or three CTAs per SM
// lost to the mma.sync tiles at 4-12 rows on three shapes of four (won 1-2% on deepseek-v3); and
// 128-row wgmma tiles (one consumer warpgroup of two m-tiles, or two of one) with two or three
// CTAs per SM lost to this one wherever it runs. Measured again at 8 and 9 rows against the
// 16-token tile (bench/results/h200-t64-tiles/call5/, W4A16, both routings, forced, two rounds):
// 1.0-3.4% faster on gpt-oss, deepseek-v3 and deepseek-v4-flash (11 of 12 rows), but 1.1-2.7%
// slower on qwen3's uniform rows, so the line stays at 10 rows where a GEMM's K is short (for_long_k below).
inline constexpr MmaTileConfig kWgmma32TwoPerSm = {8, 2, 32, 8, 0, true, 1, 2};

// The 32-token two-CTA tile also takes the upper part of the 16-token tile's band, from
// kWgmma32LongKMinRows rows per expert, where both GEMMs' K (hidden and intermediate) is at least
// kWgmma32LongKMinK. W4A16, two alternating rounds, the table (the 16-token tile) -> the 32-token tile forced:
// at 8-9 rows (bench/results/h200-t64-tiles/call5/) gpt-oss T=256 and 288 -1.0, -1.6% uniform and
// +1.2, -2.0% skewed, deepseek-v3 -1.7..-3.4% and deepseek-v4-flash T=341 and 384 (8 and 9 rows)
// -1.5..-2.6% on both routings, but qwen3 T=128 and 144 +2.7, +1.1% uniform (-0.2, -1.9% skewed); again
// at 8 rows (bench/results/h200-band-audit-512/, uniform, the table against the tile forced) gpt-oss
// T=256 -2.7% and deepseek-v3 -4.3%. qwen3's GEMM 2 has K 768, the others' GEMMs 2048-7168; where the
// line between lies is not measured. At 6 rows the 32-token tile was 10% slower on deepseek-v4-flash
// (above) and -0.9% against the table's 8-token two-m-tile tile in the audit, so the line sits
// between 6 and 8 rows. With this rule against the table without it (bench/results/h200-band-audit-512/
// landing/, three rounds, both routings): gpt-oss T=256 and 288 -1.0..-2.8%, deepseek-v3 -3.5..-5.7%,
// deepseek-v4-flash T=341 and 384 -3.0..-4.7%; qwen3 T=128 and 144 (unchanged tiles) 0.98-1.00.
inline constexpr double kWgmma32LongKMinRows = 7.5;
inline constexpr int kWgmma32LongKMinK = 2048;
inline constexpr MmaTileConfig kMma16 = {4, 2, 16, 4, 4};

// The table's Hopper choice `chosen` at `rows_per_expert`, with the 16-token tile's upper band given to
// kWgmma32TwoPerSm where the layer's K are long (above).
inline MmaTileConfig for_long_k(const MmaTileConfig& chosen, double rows_per_expert, const MoeConfig& c) {
  const bool long_k = std::min(c.hidden, c.intermediate) >= kWgmma32LongKMinK;
  return chosen == kMma16 && rows_per_expert > kWgmma32LongKMinRows && long_k ? kWgmma32TwoPerSm : chosen;
}

// The 48-token wgmma tile with two CTAs per SM, for 24-44 rows per expert on Hopper, where the
// 64-token tile pads a quarter to a half of its columns at one CTA per SM and the 32-token one
// splits most experts in two. Its 48 accumulators and both m-tiles' A fragments do not fit the
// consumers' 96 registers (ptxas spilled, then serialized every wgmma), nor 104 with the producers
// down to 32 (ptxas C7512: serialized), so its consumers dequantize and multiply one m-tile at a
// time (gemm/wgmma_pipeline.cuh); 7 stages let two CTAs share an SM.
// H200, W4A16, uniform, whole layer in us, the table (the 32-token two-CTA tile to 24 rows, then
// the 64-token tile) against this tile forced, min of two alternating rounds
// (bench/results/h200-wgmma48-tma/wgmma48/sw-*, ab-main-*; rows per expert in brackets):
//
//   shape              table -> wgmma48-r256-w8-s7-c2
//   qwen3-30b-a3b      T=384 [24] 172.0 -> 166.0  T=448 [28] 207.3 -> 173.2  T=512 [32] 216.2 -> 178.8
//                      T=640 [40] 228.0 -> 202.6  T=704 [44] 233.4 -> 221.9  T=768 [48] 232.3 -> 247.9
//   gpt-oss-120b       T=768 [24] 735.6 -> 759.5  T=896 [28] 861.9 -> 831.6  T=1024 [32] 903.6 -> 773.3
//                      T=1280 [40] 982.6 -> 932.3 T=1408 [44] 1058.4 -> 980.9 T=1536 [48] 997.7 -> 1140.3
//   deepseek-v4-flash  T=1024 [24] 1395.3 -> 1464.3 T=1195 [28] 1743.6 -> 1437.6 T=1365 [32] 1816.3 -> 1524.5
//                      T=1536 [36] 1853.3 -> 1684.6 T=1707 [40] 1925.4 -> 1833.0 T=1877 [44] 2068.0 -> 2023.8
//   deepseek-v3        T=768 [24] 2574.0 -> 2512.9 T=896 [28] 2798.6 -> 2465.8 T=1024 [32] 3134.9 -> 2914.3
//                      T=1280 [40] 3455.9 -> 3215.2 T=1408 [44] 3747.6 -> 3516.4 T=1536 [48] 3474.2 -> 3878.1
//
// So from 24 rows (at 24 it is -4..+5%, a tie) to 44 (2-7% ahead); at 48 it loses 7-14%: with 48
// rows on average about half the experts hold more than 48 and take a second, nearly empty tile.
// With it in the table from 24 to 40 rows, against the table without it, both modes and routings,
// two rounds (bench/results/h200-wgmma48-tma/wgmma48/ab-*): qwen3 T=512 216.2 -> 177.6 (skewed
// 229.5 -> 193.2, W4A4 235.2 -> 193.7), gpt-oss T=1024 903.6 -> 833.2, deepseek-v3 T=896 2798.6 ->
// 2469.0, deepseek-v4-flash T=1195 1743.6 -> 1522.2; the skewed rows 4-12% faster, the rows at 44
// (the table unchanged there in that build) within 1%.
// Since the wgmmas take each tile's rows rounded up to a token width (32 or 40 here, not 48; the
// 64-token tile's 32 or 48), measured again against the 64-token tile forced, min of two rounds
// (bench/results/h200-token-widths/landing/x-*): qwen3 T=384 [24] 144.3 -> 181.0, T=512 [32] 157.2
// -> 188.4, T=640 [40] 178.3 -> 199.4 (W4A16 uniform; all 12 rows of both modes and routings
// 7-25% slower with the 64-token tile). The table stays.
inline constexpr MmaTileConfig kWgmma48TwoPerSm = {8, 2, 48, 7, 0, true, 1, 2};

// The one-CTA wgmma tiles of 64 and 128 tokens (measurements above); the 128-token one is also the
// large tile above the wgmma tiles (kLargeTileAboveWgmma) and the one with GEMM 2's staged
// persistent form (gemm/grouped_gemm.h's kPersistentDownTile). Since the 128-token tile has two
// producer warpgroups (2-5% faster GEMM 1), the 64-token tile's band measured again against it
// forced, W4A16, min of two rounds (bench/results/h200-producers8/crossover/): at 45 and 48 rows
// the 128-token tile is 3-19% slower on 15 of 16 rows (qwen3 T=768 212.3 -> 244.9 us, gpt-oss
// T=1536 990.5 -> 1024.7, deepseek-v4-flash T=2048 1901.8 -> 2007.4) and ties on one (deepseek-v3
// T=1536 uniform -0.9%). The band stays.
inline constexpr MmaTileConfig kWgmma64 = {8, 2, 64, 8, 0, true};
inline constexpr MmaTileConfig kWgmma128 = {8, 2, 128, 8, 0, true};
static_assert(kWgmma128 == kPersistentDownTile, "the table's 128-token tile has the staged persistent form");

struct DispatchRow {
  double max_rows_per_expert;  // this row applies up to here
  MmaTileConfig gemm;
  MmaTileConfig hopper_gemm;  // the choice on sm_90 (wgmma kernels need it)
};

inline constexpr DispatchRow kDispatchTable[] = {
    // decode and small batches: weight streaming, one n8 MMA column, 64-row blocks so that a few
    // experts still fill the SMs; K split in two where GEMM 2 has few waves of that tile (four
    // slices where a GEMM's grid fits in one wave and its K is long: for_grid), unsplit beyond
    // (for_gemm2_waves: kSmallBatchTile, or its 128-row form by for_waves)
    {5.0, kDecodeTile, kDecodeTile},
    // on Hopper the 8-token tile's 128-row form up to 6 rows (kSmallBatchTileTwoMTiles, above)
    {6.0, kMma16, kSmallBatchTileTwoMTiles},
    // small batches: 128-row blocks; for the 32-token tile 8 stages instead of 4 measured 5-10%
    // slower at 512 tokens (H100, weights then in shared memory: fewer CTAs per SM)
    // (on Hopper the 32-token tile from 7.5 rows where both GEMMs' K are long: for_long_k)
    {10.0, kMma16, kMma16},
    // from here on Hopper: two consumer warpgroups of m64nNk16 wgmma (256 rows x 32, 48, 64 or
    // 128 tokens per CTA) fed by a producer warpgroup (two in the 128-token tile) through a 7- or
    // 8-stage ring; two CTAs per SM of the 32- and 48-token tiles
    {14.0, kMma16, kWgmma32TwoPerSm},
    {24.0, {4, 2, 32, 4, 2}, kWgmma32TwoPerSm},
    {32.0, {4, 2, 32, 4, 2}, kWgmma48TwoPerSm},
    {44.0, {4, 2, 64, 2, 2}, kWgmma48TwoPerSm},
    {48.0, {4, 2, 64, 2, 2}, kWgmma64},
    {1e30, {4, 2, 64, 2, 2}, kWgmma128},
};

inline MmaTileConfig choose_gemm(int num_tokens, const MoeConfig& config, bool hopper) {
  const double rows_per_expert = double(num_tokens) * config.top_k / config.num_local_experts();
  for (const DispatchRow& row : kDispatchTable)
    if (rows_per_expert <= row.max_rows_per_expert)
      return hopper ? for_long_k(row.hopper_gemm, rows_per_expert, config) : row.gemm;
  const DispatchRow& last = kDispatchTable[std::size(kDispatchTable) - 1];
  return hopper ? last.hopper_gemm : last.gemm;
}

// Name of a tile shape: kind and token block, rows per CTA, MMA warps, stages and, for mma.sync,
// the register ring's depth and any K split, for wgmma any CTAs per SM beyond one
// ("mma8-r64-w4-s8-d4", "mma8-r64-w4-s8-d4-k2", "wgmma128-r256-w8-s8", "wgmma32-r256-w8-s8-c2");
// these fields tell every compiled shape apart.
inline std::string gemm_name(const MmaTileConfig& c) {
  return (c.wgmma ? "wgmma" : "mma") + std::to_string(c.block_tokens) + "-r" + std::to_string(c.block_rows()) + "-w" +
         std::to_string(c.warps) + "-s" + std::to_string(c.stages) +
         (c.wgmma ? "" : "-d" + std::to_string(c.register_stages)) +
         (c.split_k > 1 ? "-k" + std::to_string(c.split_k) : "") +
         (c.ctas_per_sm > 1 ? "-c" + std::to_string(c.ctas_per_sm) : "");
}

// FP4MOE_GEMM=<name> makes every batch use that compiled tile shape instead of the table's choice
// (benchmarks measure the crossovers with it); unset or empty: the table decides. An unknown
// name, or a wgmma kernel off Hopper, is an error when the layer is created.
inline std::optional<MmaTileConfig> forced_gemm_from_env(bool hopper) {
  const char* name = std::getenv("FP4MOE_GEMM");
  if (name == nullptr || *name == '\0') return std::nullopt;
  std::string known;
  for (const MmaTileConfig& c : compiled_gemm_tiles()) {
    if (c.wgmma && !hopper) continue;
    if (gemm_name(c) == name) return c;
    known += (known.empty() ? "" : ", ") + gemm_name(c);
  }
  throw_argument_error("CUDA layer", "FP4MOE_GEMM", "unset or one of: " + known, name);
}

// CTAs of each tile with decode kernels that the device holds at once (SMs x CTAs per SM); the
// rules above compare grids against it. 0 for a tile it does not list.
struct DeviceWaves {
  std::vector<std::pair<MmaTileConfig, int64_t>> ctas;
  int sms = 0;
  int64_t l2_bytes = 0;  // the device's L2 (y_stays_in_l2); 0: unknown

  int64_t of(const MmaTileConfig& tile) const {
    for (const auto& [t, n] : ctas)
      if (t == tile) return n;
    return 0;
  }
  // A wgmma tile's wave: its CTAs per SM are part of its shape (the register split is sized for them).
  int64_t of_wgmma(const MmaTileConfig& tile) const { return tile.wgmma ? int64_t(sms) * tile.ctas_per_sm : 0; }
};

// The waves on a device of sms SMs of every compiled tile for which ctas_per_sm(tile) counts a CTA
// (0: not listed); after configure_grouped_gemms().
template <class CtasPerSm>
DeviceWaves device_waves(int sms, CtasPerSm&& ctas_per_sm) {
  DeviceWaves waves;
  waves.sms = sms;
  for (const MmaTileConfig& tile : compiled_gemm_tiles())
    if (const int ctas = ctas_per_sm(tile); ctas > 0) waves.ctas.push_back({tile, int64_t(sms) * ctas});
  return waves;
}

// Those of the tiles with decode kernels, counted for their grouped GEMM kernels: what the rules
// above compare grids against, as the layer counts them.
inline DeviceWaves device_waves(int sms) {
  return device_waves(sms,
                      [](const MmaTileConfig& tile) { return has_decode_gemm(tile) ? resident_ctas_per_sm(tile) : 0; });
}

// The same for CUDA device `device`, with its L2: what the layer, `fp4moe kernels` and the GPU tests
// choose by (moe/hopper_waves.h models a Hopper part instead).
inline DeviceWaves device_waves_of(int device) {
  DeviceWaves waves = device_waves(device_sms(device));
  waves.l2_bytes = device_l2_bytes(device);
  return waves;
}

// Large tiles for the experts that hold many rows (routing/plan.h): the table sizes its tile by the
// average rows per expert, but a skewed routing gives a few hot experts many times that, and each
// of their small tiles re-reads and re-dequantizes the expert's weights. So on Hopper, where the
// table picks a tile of at most 64 tokens, each expert's full chunks of a larger token block go to
// a second launch of each GEMM with that tile: the 32-token two-CTA wgmma tile above the mma.sync
// tiles, the 128-token wgmma tile above the wgmma ones. That launch runs first, and the table's
// tiles beside it (gemm/grouped_gemm.h's GemmOrder). A batch of fewer tokens than the large block
// cannot fill one (a token picks an expert at most once) and launches none.
//
// A large tile's CTA runs its expert's whole K for its block of tokens, so where a GEMM has few row
// blocks the hot experts' few large CTAs outlast the rest of it: both GEMMs need at least
// kLargeTileMinRowBlocks. H200, min of two alternating rounds (same build, FP4MOE_LARGE_TILES=0
// against on; bench/results/h200-large-tiles/beside/ab-*), whole layer in us, W4A16 / W4A4, skewed:
//
//   shape (row blocks of 256 rows, GEMM 1 / 2)   T=64           T=128          T=256          T=512
//   qwen3-30b-a3b (6 / 8)                          -0.7 / -1.0%   +2.0 / +1.3%   +18 / +17%     +8.3 / +9.9%
//   gpt-oss-120b (23 / 12)                         -7.1 / -3.4%   -12 / -9.9%    -8.2 / -6.9%   -2.5 / -11%
//   deepseek-v4-flash (16 / 16)                    -4.2 / -0.2%   -5.6 / -5.8%   -4.1 / -6.5%   -4.4 / -3.8%
//   deepseek-v3 (16 / 28)                          -0.5 / -5.6%   -5.5 / -5.4%   -5.1 / -4.2%   -2.1 / -2.2%
//
// The uniform rows of the same runs moved -11..+6.5%, within these rows' spread between runs (the
// extra launch is nearly empty there). Measured again after GEMM 1 took sorted rows and GEMM 2 the
// tile hand-off, which large tiles turn off (W4A16, skewed, gpt-oss, deepseek-v4-flash, deepseek-v3
// at 256-1024 tokens; bench/results/h200-large-handoff-value/): against neither rule, the large
// tiles -0.9..+1.7%, the hand-off -1.2..+1.5%. The 48- or 64-token tile as the large tiles above
// the 32-token one, which would share SMs with the table's tiles, lost 0.3-5.6% on every row
// (h200-large-tile-shape/), and GEMM 2's large tiles taking GEMM 1's as they finish, so that large
// tiles keep the hand-off, measured level twice (h200-large-handoff/, h200-handoff-uniform/).
//
// Above the mma.sync tiles the large launch waits for a batch of twice its block, 64 tokens: below
// that only an expert chosen by more than half the batch fills a 32-token tile, so the launch is
// nearly always empty, and it still turns the tile hand-off off. H200, W4A16, FP4MOE_LARGE_TILES=1
// against 0 (what this line does there), three alternating rounds (bench/results/h200-empty-large/):
// at 32-56 tokens 12 of 14 rows faster without it, median -1.7% (gpt-oss-20b 32/2880/2880/4 T=48
// 148.9 -> 139.3 us, llama4-scout 16/5120/8192/1 T=32 -3.7%, deepseek-v4-flash T=40 -2.5%,
// deepseek-v3 T=40 -4.4% but T=32 and T=56 +1.3%, +1.6%). From 64 tokens the benchmark's skewed rows
// fill it and gain 2.4-5.4% (gpt-oss, both deepseek shapes at 64 and 96), more than the uniform rows
// give up (up to 4.4%). Above the wgmma tiles the 128-token tile keeps its one-block line: at 128-255
// tokens, where it too needs half the batch on one expert, its absence measured mixed (mixtral
// 8/4096/14336/2 T=128 +15.6%, gpt-oss-20b T=248 skewed -8.6%, the rest within 4%). As landed, against
// the table without the line (landing/): gpt-oss-20b T=32-56 -2.7..-8.7%, llama4-scout -4.8..+0.3%,
// the benchmark shapes at 32-56 tokens -5.6..+1.0% in both modes; 64 tokens unchanged.
//
// The same holds for the grid as a whole: where the local experts' row blocks are few, the table's CTAs
// take a wave or two and the hot experts' large CTAs (one per SM, the whole K for 128 tokens) set both
// GEMMs' end. So the large tiles also need kLargeTileMinTableWaves waves of a two-CTA tile over every
// local expert's row blocks of the GEMM with fewer (1.2-1.9 waves on the few-expert models below, 5.3
// on gpt-oss-120b, 5.8 on qwen3-235b, 15.5 on the deepseek shapes). H100, W4A16, FP4MOE_LARGE_TILES=0
// against on, three alternating rounds, main 1e2c861 (bench/results/h100-large-tiles-few-experts/):
//
//   shape (local experts x row blocks, waves)    tokens     uniform        skewed
//   32/4096/2048/4 (32 x 16, 1.9)                128-384    -0.5..-5.9%    -1.4..-23% (T=224 312.4 -> 240.0 us)
//   gpt-oss-20b 32/2880/2880/4 (32 x 11, 1.3)    128-384    -0.4..-5.2%    -1.5..-22% (T=224 306.0 -> 237.7 us)
//   llama4-scout 16/5120/8192/1 (16 x 20, 1.2)   64-96      -4.3..-5.4%    -4.3..-6.3%
//                                                128-768    -1.0..+1.5%    -1.7..0.0%, 768 -4.3%
//   mixtral 8/4096/14336/2 (8 x 16, 0.5)         128-192    -1.1..0.0%     -0.1..0.0%
//   qwen3-235b 128/4096/1536/8 (128 x 12, 5.8)   64-512     -0.8..-2.8%    -1.0..-4.9%    but at 128:
//                                                128        +7.2%          +0.4%          (spread 6.5%)
//   gpt-oss-120b, deepseek-v3                    256-448    -0.3..-1.1%    -1.2..+1.7%
//   deepseek-v4-flash                            384-448    -0.9..-1.0%    +0.1..+1.1%
//   gpt-oss-120b, deepseek-v4-flash              640        -0.3..-0.9%    +4.4..+5.9%
//
// (benchmark-shapes/ for the last three lines). The line sits between 1.9 waves, where every few-expert
// row was faster without large tiles or level, and 5.3, which keeps the many-expert shapes as they were
// (qwen3-235b's losses there are smaller and mixed); with expert parallelism a shape's local experts
// count, so deepseek-v3 on 32 of its 256 experts takes the few-expert models' choice (not measured).
inline constexpr MmaTileConfig kLargeTileAboveMma = kWgmma32TwoPerSm;
inline constexpr MmaTileConfig kLargeTileAboveWgmma = kWgmma128;
inline constexpr int kLargeTileAboveMmaMinTokens = 2 * kLargeTileAboveMma.block_tokens;
inline constexpr int kMinLargeTileRows = 32;  // the workspace holds large-tile lists for this size
inline constexpr int kLargeTileMinRowBlocks = 10;
inline constexpr double kLargeTileMinTableWaves = 3;
static_assert(kLargeTileAboveMma.block_tokens >= kMinLargeTileRows &&
              kLargeTileAboveWgmma.block_tokens >= kMinLargeTileRows);

// gate_up_rows / down_rows: the GEMMs' packed weight rows; local_experts and waves (its SMs; none
// known: the grid is not checked) size the table's grid.
inline std::optional<MmaTileConfig> large_tile_for(const MmaTileConfig& chosen, int tokens, bool hopper,
                                                   int64_t gate_up_rows, int64_t down_rows, int local_experts,
                                                   const DeviceWaves& waves) {
  // The K-split tile runs only where GEMM 2 has few waves of it (for_gemm2_waves), so few CTAs that a large launch
  // beside them would leave SMs idle more than it saves re-reading: not measured, and kept apart.
  if (!hopper || chosen.split_k > 1) return std::nullopt;
  const MmaTileConfig large = chosen.wgmma ? kLargeTileAboveWgmma : kLargeTileAboveMma;
  const int min_tokens = chosen.wgmma ? large.block_tokens : kLargeTileAboveMmaMinTokens;
  if (chosen.block_tokens >= large.block_tokens || tokens < min_tokens) return std::nullopt;
  const int64_t row_blocks = std::min(gate_up_rows, down_rows) / large.block_rows();  // whole blocks
  if (row_blocks < kLargeTileMinRowBlocks) return std::nullopt;
  const int64_t wave = waves.of_wgmma(kWgmma32TwoPerSm);
  if (wave > 0 && double(local_experts) * double(row_blocks) < kLargeTileMinTableWaves * double(wave))
    return std::nullopt;
  return large;
}

// A benchmark's switch of one dispatch rule, read when the layer is created: unset, empty or 1
// leaves the rule on, 0 turns it off; anything else is an error.
inline bool rule_switch_from_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0' || std::string(value) == "1") return true;
  if (std::string(value) == "0") return false;
  throw_argument_error("CUDA layer", name, "unset, 0 or 1", value);
}

// FP4MOE_LARGE_TILES=0 turns the large tiles off (benchmarks measure them against the table alone).
inline bool large_tiles_from_env() { return rule_switch_from_env("FP4MOE_LARGE_TILES"); }

// GEMM 2 runs persistent (gemm/grouped_gemm.h's has_persistent_down and PersistentDown): the
// 128-token tile on every K, staging y through shared memory where K is at most
// kPersistentDownMaxKSteps steps of 64 and storing it directly with its eight stages beyond; the
// other wgmma tiles (32 and 48 tokens, two CTAs per SM; 64 tokens, one) where K is that short,
// storing y directly. Against one CTA per tile, whole layer, min of two alternating rounds, H200:
// - The 128-token tile staging y, which drains through shared memory while it multiplies the next
//   tile, with three stages (bench/results/h200-persistent-down/):
//   K = 768 (qwen3-30b-a3b), the kernel as it is (dynamic/): W4A16 1024 tokens -9.0%, 1536 -4.6%,
//     2048 -5.6%, 4096 -4.1%, 16384 +0.9% (its rounds 2764 and 2739 us against 2714 and 2756);
//     W4A4 1024-16384 -2.0..-2.9%. GEMM 2 alone at 16384 tokens 976-981 -> 893-920 us. Before the
//     items were taken dynamically (landing/, experiment/), W4A16 -0.4..-7.8% and W4A4 -2.5..+1.2%,
//     skewed routing at 1024-2048 tokens -4.2..-6.2%. At 768 tokens the 64-token tile runs.
//   K = 2048 and 2880 (deepseek-v3, deepseek-v4-flash, gpt-oss-120b), forced (experiment/): 16384
//     tokens +0.9..+1.6% on all six rows; 4096 -3.7..+0.7%; 1024-2048 -4.1..+2.4%. Its ring has
//     three stages instead of eight (the staging areas take the rest), which a long K loop feels
//     more than it gains from the stores.
// - The 128-token tile storing y directly, its eight stages kept (h200-persistent-two-cta/direct/,
//   an experiment build with it on every K):
//   K = 2048 and 2880 at 4096 and 16384 tokens, both modes: -2.9..0.0% on all twelve rows
//     (deepseek-v3 W4A16 16384 21780.7 -> 21438.5 us, deepseek-v4-flash W4A16 4096 -2.9%); 2048
//     tokens gpt-oss -1.7 / -1.5%, deepseek-v3 W4A4 -1.8% (its W4A16 row +3.8%, where the same
//     call's two unchanged builds differed by 6.3%).
//   K = 768 (qwen3): W4A16 2048 -7.3%, 4096 -6.0%, 16384 -2.4% against the staged form's -6.9,
//     -4.9 and -4.6% in the same call; W4A4 -3.2..-3.4% against -1.4..-2.4%. The 16384-token W4A16
//     row, #7's closest miss, keeps the staged form.
//   As landed, long K only (direct-landing/, another machine): 2048-16384 tokens, both modes,
//     -0.4..-7.3% on 17 of 18 rows, median -1.2% (gpt-oss W4A4 16384 +0.2%).
// - The two-CTA tiles, y stored directly, their rings as they are (h200-persistent-two-cta/first/):
//   K = 768 (qwen3), 256-640 tokens, uniform and skewed: W4A16 -2.6..-8.7% on all eight rows (512
//     uniform 171.0 -> 164.1 us, 384 uniform 160.8 -> 146.8), where GEMM 2 takes GEMM 1's tiles
//     as they finish; W4A4, which waits for all of GEMM 1 and h's quantization, -1.7..+0.5%.
//   K = 2048 and 2880, forced, W4A16 uniform at 512 and 1024 tokens: deepseek-v3 512 +10.7%
//     (1918.8 -> 2123.3 us), gpt-oss 1024 +6.2%, the other four -3.2..+0.0%.
// - The 64-token tile (44-48 rows per expert), y stored directly (h200-persistent-two-cta/w64/):
//   K = 768 (qwen3) at 768 tokens: W4A16 -8.6% uniform (243.0 -> 222.1 us), -9.5% skewed; W4A4
//     -5.7 / -6.2%.
//   K = 2048 and 2880 at 1536-2048 tokens, both modes and routings: 14 of 16 rows faster, median
//     -0.8%; but the same call's rows that ran unchanged kernels either way (the 48-token tile at
//     1408 tokens) came out 1.4-8.1% faster "on" in six of eight, so that is within the call's
//     noise, and long K stays on one CTA per tile.
// Nothing was measured between K = 768 and 2048: the line is drawn at 1024.
inline constexpr int kPersistentDownMaxKSteps = 16;

inline bool short_down_k(int intermediate) { return ceil_div(intermediate, kTileK) <= kPersistentDownMaxKSteps; }
inline bool use_persistent_down(const MmaTileConfig& gemm2, int intermediate, bool hopper) {
  return hopper && has_persistent_down(gemm2) && (gemm2 == kPersistentDownTile || short_down_k(intermediate));
}
// Whether the persistent GEMM 2 stages y (PersistentDown::stage_y).
inline bool stage_persistent_down(const MmaTileConfig& gemm2, int intermediate) {
  return gemm2 == kPersistentDownTile && short_down_k(intermediate);
}

// FP4MOE_PERSISTENT_DOWN=0 keeps GEMM 2 on one CTA per tile everywhere (benchmarks measure the
// persistent kernel against it).
inline bool persistent_down_from_env() { return rule_switch_from_env("FP4MOE_PERSISTENT_DOWN"); }

// W4A4 with a calibrated global scale for h (set_input_scales): GEMM 1's epilogue fake-quantizes h
// into BF16 itself (gemm/grouped_gemm.h's GateUpOutput::h_global_scale) where its tiles can
// (epilogue_quantizes_h: every tile the table picks), so no kernel writes and reads h in FP32 and GEMM 2
// may take GEMM 1's tiles as they finish, or in the decode kernels stream its first weights while GEMM 1
// ends, as in W4A16. A dynamic scale needs all of h's amax first. Against the quantization kernel, H200,
// W4A4 calibrated, uniform, whole layer, min of two alternating rounds of one build
// (FP4MOE_EPILOGUE_QUANTIZE=0 against on; bench/results/h200-epilogue-quantize/reduce-scatter/a-*, the
// epilogue before its whole-tile stores; the wgmma tiles alone then):
//
//   shape               T=512    T=4096   T=16384
//   qwen3-30b-a3b       -6.8%    -3.5%    -4.2% (2732.5 -> 2617.4 us)
//   gpt-oss-120b        -0.7%    +1.1%    -2.1%
//   deepseek-v4-flash   +0.7%    +5.6%    -1.7%   (its 4096 row: 5.1% between rounds)
//   deepseek-v3         -4.9%    -0.5%    -1.1%
//
// GEMM 1 grows by less than the kernel it replaces takes: at qwen3 16384 tokens about 1520 -> 1620
// us, against 181 us of quantization (its FP32 h written and read back). The epilogue adds about
// 1500 instructions per warp and 128-token tile (amax shuffles, scales, roundings; SASS), which
// nothing overlaps with one CTA per SM; taking its conversions out (FRND, F2FP:
// wip/no-conversions) changed nothing measurable.
// The mma.sync tiles and the decode kernels too, against main 6920c91 where only the wgmma tiles did
// (H100, calibrated W4A4, whole layer, median of three alternating rounds of two builds;
// bench/results/h100-mma-quantized-h/ab-cal-new.txt): 1-128 tokens 0.866-1.016, median 0.980
// (qwen3 T=1 18.6 -> 17.1 us, T=8 63.6 -> 58.8, gpt-oss T=8 148.0 -> 134.8, deepseek-v4-flash T=4
// 137.9 -> 119.4); slower only the grouped K-split rows, which lose GEMM 2's early weights with the
// kernel (gpt-oss T=4 +1.6%, deepseek-v4-flash T=2 +1.2%), and qwen3 T=64 skewed +0.5%; 256 tokens
// 0.984-1.018.
// FP4MOE_EPILOGUE_QUANTIZE=0 quantizes h by its own kernel everywhere (benchmarks measure it).
inline bool epilogue_quantize_from_env() { return rule_switch_from_env("FP4MOE_EPILOGUE_QUANTIZE"); }

// GEMM 1 finds its own tiles (gemm/grouped_gemm.h's OwnTiles) on Hopper (programmatic dependent
// launch: without it GEMM 1 starts after the plan kernel ends, and the search would only add work),
// in W4A16 (its rows from x as the caller gave it, before the plan has ended) and in W4A4 (its first
// weights before x's quantization has ended, its rows after), on a tile with has_own_tile_kernel and
// without large tiles (whose launch reads the plan first), at most kOwnTileMaxPairs pairs, and where
// the CTAs with work one expects (uniform routing) fill at most kOwnTileMaxWaves waves of the tile. At
// 8-512 tokens the plan kernel is a few microseconds of the forward's chain, mostly latency (a launch,
// the ids' round trip, its end before GEMM 1's wait returns): launching the plan twice added 3.8 us to
// qwen3 at 8 tokens (47.5 us) and 5.5 us at 512 (bench/results/h200-plan-scan/scan/, d-* against m-*).
// H200, W4A16, whole layer in us, one build with the rule on wherever the other conditions hold,
// against FP4MOE_OWN_TILES=0, two alternating rounds; in brackets GEMM 1's expected CTAs with work
// in waves of its tile (bench/results/h200-own-tiles/first-wave/; the first form, in which every
// CTA and not only the first wave's found its own tiles, lost 2-5% at qwen3 T=16-128: every-cta/):
//
//   qwen3-30b-a3b      T=4 [0.7] 33.0 -> 31.9   T=8 [0.95] 46.0 -> 44.4   T=16 [1.9] 66.6 -> 67.0
//                      T=32 [2.6] -0.5%   T=64 [2.9] +1.1% (skewed +0.5%)   T=128 [16-token tile] +1.5% / -0.6%
//   gpt-oss-120b       T=8 [2.0] +0.2%    T=16 [3.5] -1.9%
//   deepseek-v4-flash  T=8 [2.7] 161.9 -> 172.1 (the first form's round: 170.6 -> 172.4)   T=16 [3.9] -0.3%
//   deepseek-v3        T=8 [2.8] -0.1%    T=16 [5.0] +0.3%
//
// So it wins about 3.5% where GEMM 1 is about one wave, whose CTAs all wait for the plan at once, and
// nothing measurable from about two waves on, where the GEMM streams at its bandwidth whenever it
// starts; kOwnTileMaxWaves sits between the two. In W4A4 only the first weights come early (H100,
// against main without it, three alternating rounds, dynamic / calibrated scales;
// bench/results/h100-w4a4-early-launch/landing/):
//
//   qwen3-30b-a3b      T=4 42.9 -> 42.5 / 42.4 -> 41.1   T=6 -0.9 / -1.2%   T=8 68.8 -> 68.1 / 66.6 -> 65.7
//   deepseek-v4-flash  T=3 -0.8 / -0.4%   T=4 -0.1 / -0.3%
//   deepseek-v3        T=2 -0.6 / -0.2%   T=3 +0.2 / +0.3%   (the batches without own tiles 0.995-1.005)
inline constexpr double kOwnTileMaxWaves = 1.5;

// expected_ctas: GEMM 1's CTAs with work one expects; one_wave: the CTAs of its tile the device holds
// at once (0: not known, and then no).
inline bool gemm1_finds_own_tiles(bool hopper, const MmaTileConfig& gemm1, bool large, int64_t pairs,
                                  int64_t expected_ctas, int64_t one_wave) {
  return hopper && has_own_tile_kernel(gemm1) && !large && pairs <= kOwnTileMaxPairs &&
         one_wave > 0 && double(expected_ctas) <= kOwnTileMaxWaves * double(one_wave);
}

// FP4MOE_OWN_TILES=0 keeps GEMM 1 on the plan's tile list (benchmarks measure the rule with it).
inline bool own_tiles_from_env() { return rule_switch_from_env("FP4MOE_OWN_TILES"); }

// The K-split decode tile shortens each warp's chain of DRAM round trips where a GEMM has about a
// wave of CTAs. Where GEMM 2 (the longer GEMM of the shapes it runs on) expects more than
// kSplitTileMaxWaves waves of it, both GEMMs take the unsplit small-batch tile instead, which in
// W4A16 also hands GEMM 1's tiles to GEMM 2 as they finish (TileHandoff; the K-split tiles do not
// signal). First, H200, W4A16, uniform, whole layer, the table against both GEMMs forced to the
// unsplit 8-token tiles, two alternating rounds (bench/results/h200-split-waves/forced/); in brackets
// GEMM 2's expected CTAs in waves of the K-split tile:
//
//   shape              T=1             T=2              T=3              T=4              (r64 / r128 forced)
//   gpt-oss-120b       [0.3] +31/+55%  [0.7] +24/+33%   [1.0] +1/+12%    [1.4] +3/+13%
//   deepseek-v4-flash  [0.7] +18/+35%  [1.5] +8/+24%    [2.2] -6/-10%    [2.9] -6/+3%
//   deepseek-v3        [1.7] +25/+36%  [3.4] -6/-4%     [4.9] -5/+1%     [6.6] -8/-7%
//
// Then the rule as it is (each GEMM's unsplit tile the wave rule's pick, for_waves: deepseek-v4-flash
// T=3 both r128, T=4 both r64; deepseek-v3 T=2 both r64, T=3 and 4 GEMM 1 r64 and GEMM 2 r128), one
// build, FP4MOE_SPLIT_WAVES=0 against on, three alternating rounds, us
// (bench/results/h200-split-waves/rule/; deepseek-v4-flash T=2, where the rule keeps the tile, is the
// control: 58.9 -> 59.2 W4A16, 65.1 -> 65.0 W4A4):
//
//   shape              mode    T=2             T=3             T=4
//   deepseek-v4-flash  W4A16   (kept)          87.3 -> 78.4    107.4 -> 100.5
//                      W4A4    (kept)          94.6 -> 90.3    111.2 -> 112.8 (+1.5%)
//   deepseek-v3        W4A16   119.4 -> 112.2  172.3 -> 159.1  232.0 -> 217.6
//                      W4A4    125.4 -> 123.5  175.9 -> 175.0  231.9 -> 225.3
//
// W4A4 (no hand-off: a kernel quantizes all of h between the GEMMs) gains less, 4 rows of 5, and the
// rule is the same in both modes.
//
// The table had the K-split tile only to 0.13 rows per expert, a line drawn on the benchmark shapes, whose
// one-token batches already touch 4-8 of 128-256 experts. Models with few experts touch few at several rows per
// expert, and there the unsplit tile left most SMs idle: on seven public models' shapes (experts/hidden/
// intermediate/top-k) the tile forced beat the table by 11-25% at 2-8 tokens (bench/results/h200-model-audit/
// call2, one round). So the band runs to 5 rows and this rule alone decides. Against main a806a9a (the 0.13 line
// and 2 waves), W4A16, uniform, three alternating rounds (call3/), [GEMM 2's waves of the K-split tile]:
//
//   mixtral 8/4096/14336/2      T=1 [0.24] 98.1 -> 70.5   T=2 [0.48] -28%   T=4 [0.73] -17%   T=8 [0.97] -12%
//                               T=16 [0.97] -2.7%  (W4A4 T=1 -27%, T=8 -7.8%)
//   llama4-scout 16/5120/8192/1 T=3 [0.45] -35%   T=4 [0.61] -3.0%   T=8 [1.06] -21%   T=16 [1.67] -2.8%
//                               T=24 [1.97] level
//   gpt-oss-20b 32/2880/2880/4  T=2 [0.70] -6.7%  T=3 [0.96] -15%   T=4 [1.22] -7.4%  T=6 [1.57] level
//                               T=8 [1.92] +4.1%
//   deepseek-v2-lite 64/2048/1408/6  T=2 [0.73] -11%   T=3 [1.03] level   T=4 [1.27] level   T=6 [1.76] +4.9%
//   qwen3-30b-a3b               T=3 [1.39] 29.4 -> 27.5 (-6.6%)   T=4 [1.82] 32.2 -> 34.7 (+7.9%, W4A4 +5.9%)
//   gpt-oss-120b                T=5 [1.66] -2.1%
//
// Every gain is at most 1.70 waves (deepseek-v3 at one token above) and every loss from 1.76, so the line is
// kSplitTileMaxWaves. Where GEMM 1's K is at least kSplitTileLongK the tile keeps to 2 waves: the chain it halves is
// long enough to pay for a second wave (call 2, one round, 1.94 waves, the K-split tile against the unsplit one:
// qwen3-235b 128/4096/1536/8 at T=2 56.2 against 58.6 us, glm-4.5-air 128/4096/1408/8 53.0 against 57.3; three
// rounds in call4/: glm-4.5-air 54.0 against 56.3, qwen3-235b 58.4 against 57.9). As landed, against a806a9a (call4/,
// three rounds): every row whose tiles changed 0.66-0.98 (mixtral T=1 97.7 -> 71.2 us, llama4-scout T=8 144.8 ->
// 112.0, qwen3-30b-a3b T=3 29.5 -> 27.5, gpt-oss-120b T=5 -3.6%), the rows the line leaves unsplit 0.998-1.003.
inline constexpr double kSplitTileMaxWaves = 1.75;
inline constexpr double kSplitTileLongKMaxWaves = 2.0;
inline constexpr int kSplitTileLongK = 4096;

// gemm1_k: GEMM 1's K (the hidden size).
inline MmaTileConfig for_gemm2_waves(const MmaTileConfig& chosen, int64_t gemm2_expected_ctas, int64_t one_wave,
                                     int gemm1_k) {
  const double max_waves = gemm1_k >= kSplitTileLongK ? kSplitTileLongKMaxWaves : kSplitTileMaxWaves;
  return chosen == kDecodeTile && one_wave > 0 && double(gemm2_expected_ctas) > max_waves * double(one_wave)
             ? kSmallBatchTile
             : chosen;
}

// FP4MOE_SPLIT_WAVES=0 keeps the K-split tile wherever the table has it (benchmarks measure the rule).
inline bool split_waves_from_env() { return rule_switch_from_env("FP4MOE_SPLIT_WAVES"); }

// The two-slice K-split tile holds four CTAs an SM (its registers), and a grid of it a little past one wave ends on
// a partial wave, whose SMs stream with fewer loads in flight. Held to one CTA fewer an SM (Launch::ctas_per_sm, by
// padding the CTAs' shared memory), such a grid fills two waves better: gpt-oss-120b's GEMM 1 at two tokens, 720
// expected CTAs, takes 1.36 waves of four an SM and 1.82 of three. H100, each GEMM padded to three an SM by a
// diagnostic switch, W4A16 / dynamic W4A4, uniform, three / two alternating rounds (bench/results/h100-decode-smem/
// call2/; expected CTAs, waves of four an SM -> of three):
//
//   gpt-oss-120b       T=2 GEMM 1 (decode)   720  1.36 -> 1.82   -3.7 / -4.1%  (both GEMMs: -6.3 / -3.8%)
//   gpt-oss-120b       T=4 GEMM 2 (grouped)  720  1.36 -> 1.82   -3.0 / -3.7%
//   deepseek-v4-flash  T=2 both (grouped)    768  1.45 -> 1.94   -3.2 / -3.2%  (GEMM 1 alone -0.1 / -2.4%)
//   gpt-oss-120b       T=4 GEMM 1           1440  2.73 -> 3.64   +2.3 / +2.8%
//   deepseek-v3        T=1 GEMM 2            896  1.70 -> 2.26   +4.3 / +4.4%
//   deepseek-v3        T=1 GEMM 1            512  0.97 -> 1.29  +11.5 / +11.9%
//   qwen3-30b-a3b      T=2 GEMM 2 (decode)   512  0.97 -> 1.29   +9.4 / +10.9%
//
// Within one wave three an SM lost (qwen3 T=1 GEMM 2, 256 CTAs: +17% W4A16, where GEMM 2's CTAs no longer all fit
// beside GEMM 1's), and two an SM lost on every row (+2..+17%). The first rule (three an SM wherever it took fewer
// SM-waves than four) also lost where the batch touched fewer experts than expected, so that its grid was within one
// wave (llama4-scout 16/5120/8192/1 T=3, 2 experts touched of 2.8 expected: +9.0%; qwen3 T=3 +7.9%), and at three
// waves and more (+0.6..+2.4%; bench/results/h100-decode-smem/landing/). So the rule: three an SM where the grid is
// past one wave of four even with one expert fewer touched, and within two waves of three. As landed, against
// FP4MOE_FEWER_CTAS=0, H100, W4A16 three rounds / dynamic W4A4 two (bench/results/h100-decode-smem/landing2/):
// gpt-oss-120b T=2 53.2 -> 49.2 us (-7.5 / -6.7%), T=4 -4.5 / -4.2%; deepseek-v4-flash T=2 74.5 -> 69.5 (-6.6 /
// -5.7%); qwen3 T=3 -0.5 / -1.8%; the four shapes' other rows at 2-4 tokens 0.995-1.004; W4A16, two rounds:
// gpt-oss-20b 32/2880/2880/4 T=2 -10.8%, T=4-5 -4.9..-5.6%, qwen3-235b 128/4096/1536/8 T=2 -4.5%, deepseek-v2-lite
// 64/2048/1408/6 T=3 -2.1%, llama4-scout T=12 -2.2%, T=3 level.
//
// The unsplit 8-token tiles (eight CTAs an SM, the two-m-tile one five) gain from one CTA fewer on such grids too,
// mostly where the two GEMMs do not overlap (beside the hand-off, GEMM 1 on long K only: below). Each GEMM held to
// one fewer by a diagnostic switch, H100, W4A16 / dynamic W4A4, uniform, two alternating rounds
// (bench/results/h100-fewer-ctas-small/call1/; expected CTAs, waves as fit):
//
//   deepseek-v3        T=3  GEMM 1 (K 7168)  1536  1.45   -7.1 / -6.7%
//   deepseek-v4-flash  T=4  GEMM 1 (K 4096)  1536  1.45   -0.4 / -6.2%
//   qwen3-30b-a3b     T=10 GEMM 1 (K 2048)  1464  1.39   +1.3 / -1.2%;  T=12 (1656, 1.57) +0.8 / -1.3%
//   gpt-oss-120b      T=10 GEMM 2 (K 2880)  1610  1.52    0.0 / -5.3%;  T=8 (1334, 1.26) +6.8 / -2.8%
//   deepseek-v4-flash  T=4  GEMM 2 (K 2048)  1536  1.45   +0.8 / -4.5%
//   qwen3-30b-a3b      T=8  GEMM 2 (K 768)   1664  1.58   +3.0 / +3.4%;  T=6 (1344, 1.27) +4.2 / +1.2%
//
// Within one wave every tile lost (+5..+16%: qwen3 T=8 GEMM 1, 620 CTAs of the two-m-tile tile; deepseek-v4-flash
// T=3), and past two waves of the fewer mostly (+3..+7%: deepseek-v3 T=4 GEMM 1, gpt-oss T=6); two fewer lost or
// matched one fewer on every row. Both GEMMs so held where the predicate above holds and K is at least 2048, against
// main (h100-fewer-ctas-small/landing/, W4A16 three rounds, W4A4 two): in dynamic W4A4, where GEMM 2 runs after h's
// quantization, deepseek-v4-flash T=4 147.8 -> 134.5 us (-9.0%), deepseek-v3 T=3 -6.3%, T=2 -2.3%, gpt-oss T=8 / 10
// -2.8 / -5.3%, qwen3 T=10-14 -0.7..-1.0%; gpt-oss-20b 32/2880/2880/4 T=16-48 -2.7..-6.9%, kimi-k2 384/7168/2048/8 T=3
// -6.0%, qwen3-235b 128/4096/1536/8 T=4-5 -6.2 / -3.5%, 160/5120/1536/6 T=5-6 -4.3 / -5.1% but T=7 +0.8%,
// deepseek-v2-lite 64/2048/1408/6 T=7-10 +0.9..+2.1%. But where GEMM 2 runs beside GEMM 1 (the tile hand-off of
// W4A16 and calibrated W4A4), holding GEMM 1 lost on qwen3 T=10-14 (+1.7..+1.9%, calibrated +1.0..+1.6%),
// deepseek-v4-flash T=4 (+1.0..+1.2%), deepseek-v2-lite T=10 and 160/5120/1536/6 T=7 (+1.3, +2.3%), though it gained
// on deepseek-v3 and kimi-k2 T=3 (-5.2..-6.3%) and deepseek-v2-lite T=7 (-6.8%). GEMM 2 beside it is not held (K 768-
// 2048 there). The four-slice tile (two CTAs an SM) and the wgmma tiles were not measured so and keep their occupancy.
// Beside the hand-off, GEMM 1 of the unsplit tiles alone is held, where K is at least 4352 and its grid within 1.5
// waves: on the one-m-tile tile every row so held at K 5120-8192 gained (h100-handoff-gemm1-lead/, W4A16 / calibrated
// W4A4, two rounds, shapes the line was not drawn from but the first): deepseek-v3 and kimi-k2 T=3 -6.4..-7.8%,
// 256/7168/2048/8 T=3 -7.3 / -7.8%, 64/8192/2048/4 T=6 -7.2 / -7.3%, T=7 -1.9 / -2.5%, 64/6144/2048/8 T=3 -4.7 / -5.4%,
// 128/5120/2048/8 T=3 -1.6 / -3.0%, 160/5120/1536/8 T=4 -1.4 / -1.7%, 160/5120/1536/6 T=5-6 -1.8..-3.3% (T=7, 1.73
// waves, not held: level); with several rows an expert (call2/) 48/5120/1024/6 T=16-32 -2.1..-8.3%, 32/7168/2048/4
// T=8-10 -3.8..-6.1%, 128/6144/1536/8 T=4 -5.9 / -6.5%, 256/5120/1536/8 T=4 -0.9 / -1.2%, 24/5120/2048/8 T=5-8
// -2.2..-5.1%, but its T=12-14 +0.9 / +1.1% (calibrated -0.1 / +0.4%), at 1.44-1.45 waves, between gains at 1.43 and
// 1.49 with as many rows an expert: no bound the rule sees leaves those two out alone. K 4608 (call3/) as K 5120:
// 48/4608/1024/6 T=16-32 -1.6..-8.1%, 24/4608/2048/8 T=5-8 -0.6..-1.4%, T=12-14 +0.5..+1.2%. The two-m-tile tile (five
// CTAs an SM held to four; call3/): 24/4608/2048/8 and 24/5120/2048/8 T=16 -1.9..-3.4%, 48/4608/1024/6 and
// 48/5120/1024/6 T=48 -4.0..-4.6%. K 4352 (call4/), both tiles, gains or level on every row: 24/4352/2048/8 T=5-16
// -1.5..-3.1%, 48/4352/1024/6 T=16-48 -3.1..-7.5%, 160/4352/1536/6 T=5-6 -2.5..0.0%; well under one row an expert on
// 256 experts level, 256/4352/2048/8 T=3 +0.3 / 0.0% and 256/4352/2048/6 T=4 (deepseek-v4-flash's row, which lost
// +1.0..+1.2% at K 4096) 0.0 / -0.1%. K 4224 (call5/) mixed: up to -3.4% but 24/4224/2048/8 T=12 +2.8% and
// 48/4224/1024/6 T=16 +1.4% in W4A16, so below 4352 GEMM 1 keeps its occupancy.
// expected_ctas: the GEMM's CTAs with work one expects; row_blocks: its CTAs per touched expert; one_wave: its
// tile's CTAs the device holds at once; k: the GEMM's K; gemms_overlap: whether GEMM 2 runs beside GEMM 1
// (GemmOrder::kBeside); gate_up: whether the GEMM is GEMM 1. Returns the CTAs per SM to hold the GEMM to, 0 for as
// many as fit.
inline constexpr int kFewerCtasMinK = 2048;
inline constexpr int kFewerCtasBesideMinK = 4352;  // beside the hand-off: GEMM 1 on K of at least 4352

inline bool unsplit_small_batch_tile(const MmaTileConfig& tile) {
  return tile == kSmallBatchTile || tile == kSmallBatchTileTwoMTiles;
}

inline bool fewer_ctas_may_pay(const MmaTileConfig& tile, int64_t k, bool gemms_overlap, bool gate_up) {
  if (tile == kDecodeTile) return true;
  if (!unsplit_small_batch_tile(tile)) return false;
  return gemms_overlap ? gate_up && k >= kFewerCtasBesideMinK : k >= kFewerCtasMinK;
}

inline int ctas_per_sm_for_waves(const MmaTileConfig& tile, int64_t expected_ctas, int64_t row_blocks,
                                 int64_t one_wave, int sms, int64_t k, bool gemms_overlap, bool gate_up) {
  if (!fewer_ctas_may_pay(tile, k, gemms_overlap, gate_up) || sms <= 0 || one_wave <= sms) return 0;
  const int64_t fewer = one_wave / sms - 1;
  const bool past_one_wave = expected_ctas - row_blocks > one_wave;
  const bool within_two_waves_of_fewer = expected_ctas <= 2 * fewer * sms;
  // Beside the hand-off GEMM 2's CTAs take the SMs GEMM 1's last wave leaves: held only within 1.5 waves.
  const bool unsplit_beside = gemms_overlap && unsplit_small_batch_tile(tile);
  const bool within_bound = unsplit_beside ? 2 * expected_ctas <= 3 * one_wave : within_two_waves_of_fewer;
  return past_one_wave && within_bound ? int(fewer) : 0;
}

// FP4MOE_FEWER_CTAS=0 lets every GEMM hold as many CTAs an SM as fit (benchmarks measure the rule).
inline bool fewer_ctas_from_env() { return rule_switch_from_env("FP4MOE_FEWER_CTAS"); }

// FP4MOE_TILE_HANDOFF=0 makes GEMM 2 wait for all of GEMM 1 wherever it would take GEMM 1's tiles as
// they finish (benchmarks measure the hand-off with it). Off against on at prefill, H200, W4A16, one
// build, two alternating rounds (bench/results/h200-overlap-mtiles/call4/ab-handoff.txt): qwen3
// 4096 +1.6%, 16384 -1.3%, deepseek-v3 +0.2 / +0.4%, all within the rounds' spread (up to 4.1%), so
// the hand-off stays on at every batch it can serve.
inline bool tile_handoff_from_env() { return rule_switch_from_env("FP4MOE_TILE_HANDOFF"); }

// GEMM 1 reads its token rows from a copy of x in the plan's sorted order (routing/sorted_rows.h)
// where its tile is a wgmma one, its weights have at least kSortedRowsMinRowBlocks row blocks and
// the batch at least kSortedRowsMinRowsPerExpert rows per expert (below):
// the producers then bring each stage's rows by one or two tensor copies instead of gathering 16-byte
// chunks with cp.async, and the consumers skip the proxy fence, which made GEMM 1 4-12% faster on
// every shape and batch measured (the fence is about 1% of that, the copies the rest; no gathered
// form measured keeps the gain: bench/results/h200-proxy-fence/). The copy costs a kernel between
// the plan and GEMM 1 that writes T*k rows of x once; the gathers it saves are made once per row and
// row block. So it pays where GEMM 1 has many row blocks. H200, W4A16, one build,
// FP4MOE_SORTED_ROWS=0 against on, two alternating rounds, whole layer
// (bench/results/h200-sorted-rows/call2/; in brackets GEMM 1's row blocks of 256; 512 tokens
// uniform / skewed):
//
//   shape                    512            1024     2048     4096
//   qwen3-30b-a3b     [6]    +3.1 / +2.3%   +0.4%    +2.8%    +2.0%
//   gpt-oss-120b      [23]   -4.2 / -0.2%   -2.5%    -1.6%    -1.1%
//   deepseek-v4-flash [16]   -3.0 / -0.6%   -1.5%    -1.4%    -1.4%
//   deepseek-v3       [16]   -2.8 / -2.7%   -2.1%    -1.6%    -1.5%
//
// At 16384 tokens gpt-oss -3.4%, deepseek-v4-flash -1.5%, deepseek-v3 -2.7% (call4/; qwen3 +3.7%
// with the copy's first form, one CTA per sorted row, call1/). W4A4, dynamic scales, 512 / 4096
// tokens (call3/): gpt-oss -2.4 / -1.5%, deepseek-v4-flash -3.5 / -1.9%, deepseek-v3 -2.6 / -1.9%.
// The line between 6 and 16 row blocks is not measured.
//
// Those gains are the thirty-seventh session's, on an H200. On an H100 with today's kernels the copy costs more than it
// saves below about 24 rows per expert: FP4MOE_SORTED_ROWS=0 against on, whole layer, W4A16, uniform / skewed, two or
// three alternating rounds (bench/results/h100-rule-audit/call4/ at 384, call1-2/ at 512, h100-sorted-line/ from
// 640; rows per expert in brackets; negative: faster without the copy):
//
//   shape              384              512              768              1024             1536
//   gpt-oss-120b       [12] -0.6/-0.5%  [16] -0.3/-2.4%  [24] +1.4/-2.2%  [32] +2.7/+0.1%  [48] +2.3/+1.9%
//   deepseek-v4-flash  [9]  -0.7/-1.6%  [12] -0.8/-0.3%  [18] -1.0/-2.0%  [24] +2.0/-0.5%  [36] +2.7/+2.1%
//   deepseek-v3        [12] -0.5/-1.4%  [16] -0.4/-0.5%  [24] +0.3/-1.8%  [32] +1.9/+1.7%  [48] +2.6/-0.9%
//
// Calibrated and dynamic W4A4 alike: uniform at 768 -1.3..+0.7%, at 1024 +0.4..+2.4%. So the copy runs from
// kSortedRowsMinRowsPerExpert pairs per local expert on average, where the uniform rows gain; the skewed rows, whose
// hot experts go to the large tiles and leave the rest fewer rows, would put the line nearer 32. As landed, against
// the copy at every batch (h100-sorted-line/landing/, three rounds W4A16, two W4A4): the rows it turns off (384-640
// tokens, deepseek-v4-flash to 768) -2.7..+0.9%, median -0.7% (gpt-oss 512 skewed -2.4%, calibrated -2.2%, dynamic
// -2.7%; deepseek-v3 640 uniform +0.9%), the rows it keeps 0.991-1.008. The H200's side on today's kernels is not
// measured (bench/results/h200-lines-69/run.sh is that A/B).
inline constexpr int kSortedRowsMinRowBlocks = 12;
inline constexpr int kSortedRowsMinRowsPerExpert = 24;

// Whether GEMM 1's weights have that many row blocks of the wgmma tiles (256 rows each).
inline bool gemm1_has_many_row_blocks(int64_t gate_up_rows) {
  return ceil_div(gate_up_rows, int64_t(kWgmma128.block_rows())) >= kSortedRowsMinRowBlocks;
}

// Whether the copy pays for a batch of `pairs` over `local_experts`, whatever GEMM 1's tile: the
// workspace holds the copy only where it does for the largest batch.
inline bool sorted_rows_pay(int64_t gate_up_rows, int64_t pairs, int64_t local_experts) {
  return gemm1_has_many_row_blocks(gate_up_rows) && pairs >= kSortedRowsMinRowsPerExpert * local_experts;
}

inline bool gemm1_reads_sorted_rows(const MmaTileConfig& gemm1, bool decode_kernels, int64_t gate_up_rows,
                                    int64_t pairs, int64_t local_experts) {
  return !decode_kernels && gemm1.wgmma && sorted_rows_pay(gate_up_rows, pairs, local_experts);
}

// FP4MOE_SORTED_ROWS=0 keeps GEMM 1 gathering its rows from x (benchmarks measure the rule with it).
inline bool sorted_rows_from_env() { return rule_switch_from_env("FP4MOE_SORTED_ROWS"); }

// GEMM 2 in K slices (ForwardKernels::gemm2_k_slices): where its one-tile wgmma kernel has under a wave of CTAs
// and each streams a long K, kGemm2KSlices CTAs per tile each take a contiguous share of the K steps; the later
// slices write their partial sums to y's of their own and the combine adds them in slice order (deterministic).
// Few-expert models need it: their GEMM 2 grid is one tile per expert and row block, so at 32-128 tokens most SMs
// idle while a few stream 14336 or 32768 of K. H200, W4A16, uniform, the split forced on the one-tile wgmma kernel
// against the table, one build, three alternating rounds (bench/results/h200-gemm2-k-split/call1/, call2/):
//
//   shape (E/H/I/k)              [GEMM 2's expected CTAs]  T=32            T=64            T=96     T=128
//   mixtral 8/4096/14336/2       [128 of a wave of 264]    298.8 -> 242.3  311.3 -> 244.3  -14.8%   -5.8%
//   grok-1 8/6144/32768/2        [192]                     +1.6% (noise)   -7.8%           -6.0%
//   llama4-scout 16/5120/8192/1  [mma.sync; T=128: 320]    +1.9%           +0.7%                    -2.1%
//   dbrx 16/6144/10752/4         [384]                     +1.2% (noise)   -0.7%                    -1.5%
//
// Four slices: mixtral T=32 237.1, T=64-128 behind two. The benchmark shapes' GEMM 2 runs the mma.sync tiles or
// the persistent kernel at those batches, where forcing the split changes nothing (0.988-1.015). A wave here is
// SMs x the wgmma tile's CTAs per SM (DeviceWaves::of_wgmma). So the rule: the
// table's one-tile wgmma GEMM 2 (and its large tiles', if any) with at most a wave of expected CTAs and K at least
// kGemm2SplitMinK; below that K no small grid was measured. kGemm2SplitMaxPairs bounds the workspace's second y.
inline constexpr int kGemm2KSlices = 2;
inline constexpr int kGemm2SplitMinK = 8192;
inline constexpr int64_t kGemm2SplitMaxPairs = 1024;

inline bool gemm2_splits_k(const MmaTileConfig& gemm2, const std::optional<MmaTileConfig>& large,
                           int64_t expected_ctas, int64_t one_wave, int k, int64_t pairs) {
  return gemm2.wgmma && (!large || large->wgmma) && k >= kGemm2SplitMinK && pairs <= kGemm2SplitMaxPairs &&
         one_wave > 0 && expected_ctas <= one_wave;
}

// Whether a layer of `c` may split GEMM 2's K at some batch: its workspace then holds a second y for up to
// kGemm2SplitMaxPairs pairs.
inline int64_t gemm2_split_pairs(const MoeConfig& c, int max_tokens) {
  return c.intermediate >= kGemm2SplitMinK ? std::min<int64_t>(int64_t(max_tokens) * c.top_k, kGemm2SplitMaxPairs)
                                           : 0;
}

// FP4MOE_GEMM2_K_SPLIT=0 keeps GEMM 2's K whole (benchmarks measure the rule with it).
inline bool gemm2_k_split_from_env() { return rule_switch_from_env("FP4MOE_GEMM2_K_SPLIT"); }

// y kept in L2 from GEMM 2 to the combine (ForwardKernels::y_in_l2). GEMM 2 writes y, [pairs, H] in FP32 (33.5
// MB at qwen3's 512 tokens), and the combine reads it back at once; meanwhile both GEMMs stream every weight byte
// through L2 once, which evicts most of y (the fortieth session: 64% of the combine's reads hit L2 at qwen3 512)
// and writes its dirty lines to DRAM. So the wgmma kernels' weight copies take the evict-first policy
// (ptx::l2_evict_first_policy), and the combine drops each line of y it has read (ptx::discard_l2_line): y is
// scratch, and no dirty line of it is written back. Dynamic W4A4's GEMM 1 also writes h in FP32 (12.6 MB there),
// which h's quantization kernel drops line by line as it reads it, so h counts in BF16 in every mode. That pays
// where y and h fit in L2 and y's bytes are a fair share of the weights'. H100, three alternating rounds against
// main 4f0756b, one build with FP4MOE_Y_IN_L2=0 beside (bench/results/h100-y-in-l2/call2/; y's share of the touched
// weight bytes in brackets):
//
//   qwen3 uniform / skewed   W4A16            calibrated W4A4   dynamic W4A4
//   T=384 [7.4%]             -5.7 / -3.2%     -7.3 / -4.7%      -5.1 / -4.0%
//   T=512 [9.9%]             -3.5 / -1.9%     -4.9 / -3.4%      -4.8 / -2.6%
//
// The rule off (main's kernels but for the combine's unused branch) 1.000-1.010 there. The first form (call1/) had
// it on gpt-oss-120b T=512 [1.3%] too: +1.2 / +2.0%. Where the rule is off the copies are main's instruction: an
// explicit evict-normal policy there measured +0.8..+1.5% on the wgmma rows (call1/). The lines were first y and h
// within 80% of L2 and y at least 5% of the weights. Moved to all of L2 and 4% (H100, main bf67fca against the same
// with the new lines, alternating, bench/results/h100-h-discard/call1-2/: four rounds in W4A16 and calibrated W4A4,
// two in dynamic), the rule gained qwen3 T=256 [4.9%] -6.4 / -4.6% W4A16, -8.3 / -6.3% calibrated, -6.4 / -4.7%
// dynamic, and T=640 (y and h 95% of the L2) -3.3 / -0.8%, -1.8 / -1.7%, -2.5 / -2.4% (spreads up to 4%); every
// other row of the four benchmark shapes at 128-1024 tokens 0.992-1.008, but for two whose spread was wider and
// where the rule is off either way (gpt-oss T=256 1.012, deepseek-v3 T=1024 1.026). Then 2% against 4% (call3/,
// two rounds): qwen3 T=192 [3.7%] -6.0 / -5.4% W4A16, -7.6 / -6.1% calibrated; T=128-160 [2.5-3.1%], whose
// mma.sync tiles take no evict-first policy, level (0.994-1.001). So the line is 3.5%: measured wins above it,
// nothing gained below. On an H200 (60 MiB) these lines take qwen3 up to 768 tokens, which no run measured there.
// Dynamic W4A4's h discard (call1/, three rounds against main bf67fca): qwen3 T=384 -1.2 / -0.9%, T=512 -1.7 /
// -1.1% (level on an H200, whose 60 MiB hold y and both forms of h at 512: h200-h-discard/).
//
// Below the share line, y of at least 5 MB: the share line was drawn on qwen3 alone, whose smaller batches run
// mma.sync tiles (no evict-first copies). Without it, on the other benchmark shapes at 32-640 tokens, the rule's
// discards alone (mma.sync tables) and the wgmma tables' evict-first copies gained on every uniform row, so long as
// the large tiles' copies kept the normal policy: several large CTAs read each hot expert's weights, which
// evict-first sends back to DRAM (with it, skewed rows +0.2..+1.8%). H100, main 6fe65570 against the rule without
// the share line and with the large tiles at the normal policy (bench/results/h100-dynamic-audit/, run-y-line.sh and
// run-y-large.sh, two rounds; y in MB in brackets), W4A16 / dynamic W4A4, uniform / skewed:
//
//   deepseek-v3 T=64 [14.7]           -2.1 / -0.3%    -2.4 / -0.4%
//   deepseek-v3 T=128-192             -1.4..-2.1% uniform, -0.1% skewed, both modes
//   deepseek-v4-flash T=64 [6.3]      -0.7 / -0.3%    -1.9 / -0.7%
//   deepseek-v4-flash T=128-256       -0.4..-2.4% uniform, -0.2..+0.2% skewed
//   gpt-oss-120b T=128 [5.9]          -0.7 / +0.1%    -2.0 / -0.4%
//   gpt-oss-120b T=256 [11.8]         -4.5 / -2.7%    -1.4 / -3.1%
//   gpt-oss-120b T=512 [23.6]         -0.7 / -1.0%    -1.2 / 0.0%
//
// Below 5 MB it bought little or lost: qwen3 T=32-64 [2.1-4.2] +0.1..+0.7% in every mode, gpt-oss T=64 [2.9]
// -0.2..-0.9%, deepseek-v4-flash and gpt-oss T=32 level; qwen3 T=128 [8.4] -1.1..+0.2% (run-y-line.sh: no large
// tiles there). As landed, against main in every mode, two rounds (landing/): the benchmark rows it takes,
// deepseek-v3 T=64 -1.6..-2.3% uniform, -0.3..-0.4% skewed, deepseek-v4-flash T=64 -0.6..-1.8% / -0.3..-0.6%,
// gpt-oss T=512 -0.5..-1.2% / -0.1..-1.5%; every row it changes at 32-640 tokens 0.963-1.007 but deepseek-v4-flash
// T=96 skewed in dynamic W4A4, 1.014 with spreads of 1.6 / 1.9%. Public models' shapes, main against 6fe65570 (both
// lines, two rounds, W4A16 and dynamic W4A4, h100-checks-83/): deepseek-v2-lite T=128-192 -2.9..-7.1%, gpt-oss-20b
// T=128-256 -0.5..-4.5%, qwen3-235b T=48-256 -0.9..-4.0% (one noisy +1.6%), kimi-k2 T=32-192 0..-1.9%; level past the
// L2. The few-expert models, each of whose experts' weights outgrow the L2 (71-111 MB: llama4-scout, mixtral, dbrx),
// gained on uniform rows (-0.4..-3.2%) but lost on skewed ones from 32 rows an expert (level to +1.4%; llama4-scout
// T=512 +1.5 / +4.3%). Evict-first only on the tiles whose expert one token block reads (h100-tile-policy/) won those
// back (llama4-scout -2.3 / -2.7%) but lost more on the benchmark shapes (gpt-oss T=256-512 skewed +1.9..+3.4%, qwen3
// T=256-768 -0.5..+1.8%, 13 of 16 rows up): not landed.
//
// Past the L2's size, where y is a large share of the weights, the part of y that L2 keeps still pays: y at least 10%
// of the weights, y and h within 2.5 times the L2. The rule with y and h within three times the L2 and the shares
// as they were (y-cap-diag.patch) against main f2b5835b, W4A16 / dynamic W4A4, uniform / skewed, two rounds
// (run-y-cap.sh; y and h against the L2, y against the weights in brackets): qwen3 T=768 [1.1x, 15%] -1.5 / -2.0%,
// -2.1 / -2.0%; T=1024 [1.5x, 20%] -0.5 / -0.4%, -0.6 / -0.9%; T=1536 [2.3x, 30%] -1.0 / -1.1%, -1.0 / -1.0%. With a
// smaller share it did not pay: gpt-oss T=768-2048 [2.0-5.3%] -1.1..+2.0% (T=1536 [2.0x, 4.0%] 0.0..+0.3%),
// deepseek-v4-flash T=512-1024 [1.4-2.8%] -0.9..+2.0%, deepseek-v3 T=256-512 -0.3..+0.8%. So qwen3 from 768 tokens
// takes the rule, none of the benchmark's batches. As built, against f2b5835b, two rounds (h100-checks-83/),
// uniform / skewed: T=768 -1.9 / -2.0% W4A16, -2.4 / -1.6% calibrated W4A4; T=1024 -0.8 / +0.3%, -1.3 / -0.4%;
// T=1536 -0.8 / -1.4%, 0.0 / -1.4%.
inline constexpr double kYInL2MinWeightShare = 0.035;  // y's bytes against the touched weights'
inline constexpr double kYInL2MinBytes = 5e6;
inline constexpr double kYPastL2MinWeightShare = 0.10;
inline constexpr double kYPastL2MaxOverL2 = 2.5;  // y and h against the L2

inline bool y_stays_in_l2(const MoeConfig& c, int64_t pairs, int gemm2_k_slices, double weight_bytes,
                          int64_t l2_bytes) {
  if (l2_bytes <= 0) return false;  // unknown
  const double y = double(pairs) * c.hidden * 4 * gemm2_k_slices, h = double(pairs) * c.intermediate * 2;
  const double l2 = double(l2_bytes);
  if (y + h <= l2) return y >= kYInL2MinWeightShare * weight_bytes || y >= kYInL2MinBytes;
  return y + h <= kYPastL2MaxOverL2 * l2 && y >= kYPastL2MinWeightShare * weight_bytes;
}

// FP4MOE_Y_IN_L2=0 keeps the weights' copies and y's lines as they are (benchmarks measure the rule with it).
inline bool y_in_l2_from_env() { return rule_switch_from_env("FP4MOE_Y_IN_L2"); }

// The dispatch rules a benchmark can turn off, read when a layer is created.
struct RuleSwitches {
  bool large_tiles = true;        // FP4MOE_LARGE_TILES
  bool persistent_down = true;    // FP4MOE_PERSISTENT_DOWN
  bool epilogue_quantize = true;  // FP4MOE_EPILOGUE_QUANTIZE
  bool own_tiles = true;          // FP4MOE_OWN_TILES
  bool split_waves = true;        // FP4MOE_SPLIT_WAVES
  bool tile_handoff = true;       // FP4MOE_TILE_HANDOFF
  bool sorted_rows = true;        // FP4MOE_SORTED_ROWS
  bool gemm2_k_split = true;      // FP4MOE_GEMM2_K_SPLIT
  bool y_in_l2 = true;            // FP4MOE_Y_IN_L2
  bool fewer_ctas = true;         // FP4MOE_FEWER_CTAS
};

inline RuleSwitches rule_switches_from_env() {
  return {large_tiles_from_env(), persistent_down_from_env(), epilogue_quantize_from_env(), own_tiles_from_env(),
          split_waves_from_env(), tile_handoff_from_env(), sorted_rows_from_env(), gemm2_k_split_from_env(),
          y_in_l2_from_env(), fewer_ctas_from_env()};
}

// The kernels of one forward: the two GEMMs' tiles (one token block between them), whether they
// run as the decode kernels, the large tiles' shape if the batch has them (both GEMMs'), and
// whether GEMM 2 takes GEMM 1's tiles as they finish (gemm/grouped_gemm.h's TileHandoff): where h
// is final when a GEMM 1 tile ends (W4A16, or W4A4 whose GEMM 1 quantizes h; else a kernel
// quantizes all of h in between), not with large tiles, and not after GEMM 1's K-split tiles, which
// do not signal (grouped_gemm.cu's kCanSignalTiles).
struct ForwardKernels {
  MmaTileConfig gemm1, gemm2;
  bool decode_kernels;
  std::optional<MmaTileConfig> large;
  bool gemm1_quantizes_h = false;  // W4A4: GEMM 1's epilogue fake-quantizes h (epilogue_quantize_from_env)
  bool tile_handoff = false;
  bool persistent_gemm2 = false;  // GEMM 2's table tiles by the persistent kernel (use_persistent_down)
  bool gemm2_stages_y = false;    // ... in its staged form (stage_persistent_down)
  bool own_tiles = false;         // GEMM 1 finds its own tiles (gemm1_finds_own_tiles)
  bool sorted_rows = false;       // GEMM 1 reads x's rows copied in sorted order (gemm1_reads_sorted_rows)
  int gemm2_k_slices = 1;         // GEMM 2's K in this many slices (gemm2_splits_k)
  bool gemm2_after_quantization = false;  // GEMM 2's mma.sync tiles after h's quantization kernel
  bool y_in_l2 = false;                   // evict-first weights, y's lines dropped once read (y_stays_in_l2)
  int gemm1_ctas_per_sm = 0, gemm2_ctas_per_sm = 0;  // CTAs an SM at most, 0: as fit (ctas_per_sm_for_waves)
  int large_rows() const { return large ? large->block_tokens : 0; }
  // GEMM 1's table tiles run beside the large tiles' launch; GEMM 2's beside that too, or beside
  // GEMM 1 when it takes GEMM 1's tiles as they finish, or after h's quantization, reading its tile
  // and streaming its first weights before the wait.
  GemmOrder gemm1_order() const { return large ? GemmOrder::kBeside : GemmOrder::kAfter; }
  GemmOrder gemm2_order() const {
    if (large || tile_handoff) return GemmOrder::kBeside;
    return gemm2_after_quantization ? GemmOrder::kRowsAfterWait : GemmOrder::kAfter;
  }
};

// Every choice of a forward in one place: the table's tile (or the forced one, which no rule
// touches), the K-split tile swapped by for_gemm2_waves (unless rules.split_waves is false),
// refined per GEMM by for_grid and for_waves; then whether the batch runs the decode kernels; beyond
// them the large tiles (large_tile_for), unless a tile is forced or rules.large_tiles is false,
// whether GEMM 1 quantizes h (W4A4 with h_calibrated, unless rules.epilogue_quantize is false), the
// tile hand-off, whether GEMM 2 runs persistent (use_persistent_down, forced tile or not, unless
// rules.persistent_down is false), and whether GEMM 1 finds its own tiles (gemm1_finds_own_tiles,
// forced tile or not, unless rules.own_tiles is false) and whether it reads x's rows copied in
// sorted order (gemm1_reads_sorted_rows, likewise, unless rules.sorted_rows is false); and whether GEMM 2
// splits its K (gemm2_splits_k, the table's tiles only, unless rules.gemm2_k_split is false); and the CTAs per SM
// each GEMM is held to (ctas_per_sm_for_waves, the table's tiles only, unless rules.fewer_ctas is false).
// gate_up_rows / down_rows: the GEMMs' packed weight rows. Only host-known values go in, so a captured
// graph keeps the choice.
inline ForwardKernels choose_kernels(int tokens, const MoeConfig& c, bool hopper,
                                     const std::optional<MmaTileConfig>& forced, int64_t gate_up_rows,
                                     int64_t down_rows, const DeviceWaves& waves, bool h_calibrated = false,
                                     const RuleSwitches& rules = {}) {
  const int64_t pairs = int64_t(tokens) * c.top_k;
  const double touched = expected_touched_experts(tokens, c);
  // CTAs with work at most (every pair on its own expert, one token tile each) and on average.
  const auto most_ctas = [&](const MmaTileConfig& t, int64_t rows) {
    return std::min<int64_t>(pairs, c.num_local_experts()) * ceil_div(rows, t.block_rows());
  };
  const auto expected_ctas = [&](const MmaTileConfig& t, int64_t rows) {
    return whole_touched_experts(touched) * ceil_div(rows, t.block_rows());
  };
  MmaTileConfig gemm = forced ? *forced : choose_gemm(tokens, c, hopper);
  if (!forced && rules.split_waves)
    gemm = for_gemm2_waves(gemm, expected_ctas(kDecodeTile, down_rows), waves.of(kDecodeTile), c.hidden);
  const auto [gate_up_grid, down_grid] =
      forced ? std::pair{gemm, gemm}
             : for_grid(gemm, {most_ctas(gemm, gate_up_rows), expected_ctas(gemm, gate_up_rows), c.hidden},
                        {most_ctas(gemm, down_rows), expected_ctas(gemm, down_rows), c.intermediate},
                        waves.of(kDecodeTileOneWave));
  const auto for_these_waves = [&](const MmaTileConfig& g, int64_t rows) {
    if (forced) return g;
    return for_waves(g, expected_ctas(g, rows), waves.of(g), expected_ctas(kSmallBatchTileTwoMTiles, rows),
                     waves.of(kSmallBatchTileTwoMTiles));
  };
  ForwardKernels k{for_these_waves(gate_up_grid, gate_up_rows), for_these_waves(down_grid, down_rows), false};
  k.decode_kernels = use_decode_kernels(c.mode, pairs, int64_t(tokens) * c.hidden,
                                        has_decode_gemm(k.gemm1) && has_decode_gemm(k.gemm2),
                                        most_ctas(k.gemm2, down_rows), waves.of(k.gemm2));
  if (!k.decode_kernels && !forced && rules.large_tiles)
    k.large = large_tile_for(gemm, tokens, hopper, gate_up_rows, down_rows, c.num_local_experts(), waves);
  k.gemm1_quantizes_h = c.mode == QuantMode::kW4A4 && h_calibrated && rules.epilogue_quantize &&
                        epilogue_quantizes_h(k.gemm1) && (!k.large || epilogue_quantizes_h(*k.large));
  k.tile_handoff = !k.decode_kernels && rules.tile_handoff && (c.mode == QuantMode::kW4A16 || k.gemm1_quantizes_h) &&
                   !k.large && k.gemm1.split_k == 1;
  k.persistent_gemm2 =
      !k.decode_kernels && rules.persistent_down && use_persistent_down(k.gemm2, c.intermediate, hopper);
  k.gemm2_stages_y = k.persistent_gemm2 && stage_persistent_down(k.gemm2, c.intermediate);
  k.own_tiles = !k.decode_kernels && rules.own_tiles &&
                gemm1_finds_own_tiles(hopper, k.gemm1, bool(k.large), pairs,
                                      expected_ctas(k.gemm1, gate_up_rows), waves.of(k.gemm1));
  k.sorted_rows = rules.sorted_rows &&
                  gemm1_reads_sorted_rows(k.gemm1, k.decode_kernels, gate_up_rows, pairs, c.num_local_experts());
  const bool split = !forced && !k.decode_kernels && !k.persistent_gemm2 && rules.gemm2_k_split &&
                     gemm2_splits_k(k.gemm2, k.large, expected_ctas(k.gemm2, down_rows), waves.of_wgmma(k.gemm2),
                                    c.intermediate, pairs);
  k.gemm2_k_slices = split ? kGemm2KSlices : 1;
  // After W4A4's h quantization, which waited for GEMM 1 before it let GEMM 2 launch, an mma.sync GEMM 2
  // reads its tile and streams its first weights before its wait (GemmOrder::kRowsAfterWait). The
  // eighth session's form, every GEMM 2 so (wip/early-down), lost 0-6.6%: its CTAs took SMs and
  // bandwidth from GEMM 1's last wave; here GEMM 1 has ended when they launch. H100, both W4A4 modes,
  // every shape at 2-128 tokens, two alternating rounds (bench/results/h100-w4a4-down-early/): 40 of 72
  // rows faster, 10 slower, median 0.999; qwen3 T=4 -2.2% dynamic, gpt-oss T=4 -1.4 / -1.7%,
  // deepseek-v4-flash T=2 -1.9 / -2.1%, qwen3 T=64-128 -0.2..-0.4%; the slowest deepseek-v4-flash T=4
  // dynamic +0.5% (its base's spread 0.5%).
  k.gemm2_after_quantization =
      c.mode == QuantMode::kW4A4 && !k.decode_kernels && !k.gemm1_quantizes_h && !k.large && !k.gemm2.wgmma;
  if (!forced && rules.fewer_ctas) {
    const bool gemms_overlap = k.gemm2_order() == GemmOrder::kBeside;
    const auto ctas_per_sm = [&](const MmaTileConfig& g, int64_t rows, int64_t gemm_k, bool gate_up) {
      return ctas_per_sm_for_waves(g, expected_ctas(g, rows), ceil_div(rows, g.block_rows()), waves.of(g), waves.sms,
                                   gemm_k, gemms_overlap, gate_up);
    };
    k.gemm1_ctas_per_sm = ctas_per_sm(k.gemm1, gate_up_rows, c.hidden, true);
    k.gemm2_ctas_per_sm = ctas_per_sm(k.gemm2, down_rows, c.intermediate, false);
  }
  const double weight_bytes = touched * double(gate_up_rows * c.hidden + down_rows * c.intermediate) * 0.5625;
  k.y_in_l2 = !k.decode_kernels && rules.y_in_l2 &&
              y_stays_in_l2(c, pairs, k.gemm2_k_slices, weight_bytes, waves.l2_bytes);
  return k;
}

// The smallest compiled token block (a forced shape may be any of them) bounds the tile list the
// workspace must hold.
inline int min_block_tokens() {
  int m = compiled_gemm_tiles().front().block_tokens;
  for (const MmaTileConfig& c : compiled_gemm_tiles()) m = c.block_tokens < m ? c.block_tokens : m;
  return m;
}

}  // namespace fp4moe::cuda
