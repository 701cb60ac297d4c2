// Epilogues of the grouped GEMMs (both mainloops). Accumulator element acc[mt][nt][i] of lane l is
// weight row (warp rows + mt*16 + l/4 + 8*(i/2)) and token (nt*8 + 2*(l%4) + i%2) of the tile.
// The FP32 global scales (weight scale_2, W4A4 activation 1/global_scale) and the experts' biases,
// where the layer has them, are applied here.
#pragma once
#include <cuda_bf16.h>

#include <type_traits>

#include "cuda/gemm/compiled_tiles.h"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_mainloop.cuh"
#include "cuda/gemm/staged_h.cuh"
#include "cuda/quant/block_io.cuh"
#include "fp4moe/moe/activation.h"

namespace fp4moe::cuda {

// alpha = scale_2 (W4A16) or scale_2 / activation global scale (W4A4), as the CPU backend does,
// times the exact power of two that undoes the dequantization bias (format/dequant.cuh).
__device__ __forceinline__ float epilogue_alpha(float scale_2, bool quantized_input, const GlobalScaleSource& scale) {
  return (quantized_input ? scale_2 / scale.resolve() : scale_2) * kDequantBias;
}

// Where this thread's accumulators sit in the CTA tile (the m16n8k16 layout that both the mma.sync
// and the wgmma mainloop leave): m-tile mt is the 16-row weight tile first_tile16 + mt (counted over
// the whole matrix), of which this thread holds row `row` and row + 8, at the tile's token columns
// first_token + c for the c that for_each_accumulator_pair passes.
struct AccumulatorPlace {
  int64_t first_tile16;
  int row;
  int first_token;

  template <class Tile>
  __device__ static AccumulatorPlace of(int row_block) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    return {int64_t(row_block) * (Tile::kBlockRows / 16) + warp * Tile::kMTiles, lane / 4, 2 * (lane % 4)};
  }
};

// Visits this thread's accumulators as visit(mt, c, lo, hi): lo at row `row` of m-tile mt and token
// column first_token + c (AccumulatorPlace), hi 8 rows below. The loops unroll, so mt and c are
// compile-time constants in each visit: the epilogues keep one base address per thread and add
// constant multiples of their strides, instead of recomputing a 64-bit index per element.
template <class Tile, class Visit>
__device__ __forceinline__ void for_each_accumulator_pair(const MmaAccumulators<Tile>& acc, Visit&& visit) {
  static_assert(int64_t(Tile::kBlockTokens) * kMaxMoeWidth <= INT32_MAX, "32-bit offsets within a token tile");
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int half = 0; half < 2; ++half) visit(mt, nt * 8 + half, acc[mt][nt][half], acc[mt][nt][2 + half]);
}

// One bias value per m-tile of this thread, at output column first + stride * mt of the expert's
// bias row (zeros without a bias, or past `columns`): loaded once per tile, before the accumulator
// loops, which then add a register. kCompiled false leaves the bias code out altogether: the decode
// kernels are compiled in both forms (decode_gemm.cu), because at one token the epilogue's loads and
// adds cost a layer without biases 0.25 us of qwen3-30b-a3b's 15.15 (1.6%, H200); the grouped
// kernels, where they cost nothing measurable, keep one form.
template <class Tile, bool kCompiled = true>
struct MTileBias {
  float value[kCompiled ? Tile::kMTiles : 1];

  __device__ MTileBias(const float* bias, int expert, int columns, int64_t first, int stride) {
    if constexpr (kCompiled) {
#pragma unroll
      for (int mt = 0; mt < Tile::kMTiles; ++mt) {
        const int64_t column = first + int64_t(stride) * mt;
        value[mt] = bias && column < columns ? __ldg(bias + int64_t(expert) * columns + column) : 0.0f;
      }
    }
  }
  __device__ float add(int mt, float v) const {
    if constexpr (kCompiled) return v + value[mt];
    return v;
  }
};

// Calls f(kind) with kind a std::integral_constant of spec.kind, so that an unrolled loop over the
// accumulators inlines one activation: switching per element made GEMM 1's wgmma epilogue 380 KB
// of SASS, and its warps spent a fifth of their time waiting for instruction fetch (Nsight Compute,
// qwen3-30b-a3b at 4096 tokens).
template <class F>
__device__ __forceinline__ void with_activation_kind(Activation kind, F&& f) {
  switch (kind) {
    case Activation::kSilu: return f(std::integral_constant<Activation, Activation::kSilu>{});
    case Activation::kSiluClamped: return f(std::integral_constant<Activation, Activation::kSiluClamped>{});
    case Activation::kSwigluOai: return f(std::integral_constant<Activation, Activation::kSwigluOai>{});
    case Activation::kGeluTanh: return f(std::integral_constant<Activation, Activation::kGeluTanh>{});
  }
}

// GEMM 1: rows are gate/up interleaved by 8 (weight_layout.h), so a pair holds gate(j) and up(j)
// of one token: the activation needs no data exchange. The activation and the output type are
// chosen once per tile, outside the unrolled loop.
struct GateUpEpilogue {
  using Params = GateUpOutput;

  // ring: the wgmma kernels' shared memory, free once the K loops are done, where h goes through
  // on its way to global memory in BF16 (gemm/staged_h.cuh); null elsewhere.
  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc,
                               char* ring = nullptr) {
    apply_form<true, Tile>(p, tile, row_block, acc, ring);
  }

  // apply() with the bias code compiled in (kBias, as apply() has it) or left out (MTileBias): the
  // decode kernels are compiled in both forms. kQuantizingKernel: an mma.sync tile's kernel for W4A4
  // with a calibrated h scale (GateUpQuantizingEpilogue).
  template <bool kBias, class Tile, bool kQuantizingKernel = false>
  __device__ static void apply_form(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc,
                                    char* ring = nullptr) {
    float amax = 0.0f;
    with_activation_kind(p.activation.kind, [&](auto kind) {
      constexpr Activation kKind = decltype(kind)::value;
      if (p.h_f32) {
        amax = store<kKind, kBias, Tile>(p, p.h_f32, tile, row_block, acc);
        return;
      }
      // Only the kernels that may quantize h carry that code (check_gate_up_output keeps the others'
      // h_global_scale at 0): the wgmma tiles that can, and the mma.sync ones in kernels of their own.
      // Compiled into every mma.sync kernel, it cost registers, and with them resident CTAs, even in
      // W4A16, which never takes it (the four-slice one-token tile 64 -> 76 registers, qwen3's
      // one-token forward 15.6 -> 19.6 us on an H200; the 8-token two-m-tile tile 96 -> 127).
      if constexpr (epilogue_quantizes_h(tile_config<Tile>()) && (Tile::kWgmma || kQuantizingKernel)) {
        if (p.h_global_scale > 0.0f) {
          if constexpr (Tile::kMTiles % 2 == 0) store_fake_quantized<kKind, kBias, Tile>(p, tile, row_block, acc, ring);
          else store_fake_quantized_by_warp_pairs<kKind, kBias, Tile>(p, tile, row_block, acc);
          return;
        }
      }
      if constexpr (Tile::kWgmma) {
        store_staged<kKind, kBias, Tile>(p, tile, row_block, acc, ring);
        return;
      }
      store<kKind, kBias, Tile>(p, p.h_bf16, tile, row_block, acc);
    });
    if (p.h_amax) atomic_max_abs(p.h_amax, amax);  // every lane of the warp reaches this
  }

 protected:
  // The activation of this thread's accumulators of m-tile mt as the epilogues apply it: the gate and
  // up alphas and biases (h column j0 + 8 mt, AccumulatorPlace), the kind fixed at compile time
  // (apply_activation's switch folds away).
  template <Activation kKind, bool kBias, class Tile>
  struct GatedActivation {
    ActivationSpec spec;
    float alpha_gate, alpha_up;
    MTileBias<Tile, kBias> gate_bias, up_bias;

    __device__ GatedActivation(const Params& p, int expert, int64_t j0)
        : spec(p.activation),
          gate_bias(p.gate_bias, expert, p.intermediate, j0, 8),
          up_bias(p.up_bias, expert, p.intermediate, j0, 8) {
      spec.kind = kKind;
      alpha_gate = epilogue_alpha(p.gate_scale_2[expert], p.quantized_input, p.input_scale);
      alpha_up = epilogue_alpha(p.up_scale_2[expert], p.quantized_input, p.input_scale);
    }
    __device__ float operator()(int mt, float gate, float up) const {
      return apply_activation(spec, gate_bias.add(mt, gate * alpha_gate), up_bias.add(mt, up * alpha_up));
    }
  };

  // h column of this thread's m-tile 0 (m-tile mt's is 8 mt beyond).
  template <class Tile>
  __device__ static int64_t first_h_column(int row_block) {
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    return at.first_tile16 * 8 + at.row;
  }

  // Writes h = act(gate, up) of this thread's accumulators to `h` (FP32 or BF16); returns the
  // largest |h| written (NaN if any is).
  template <Activation kKind, bool kBias, class Tile, class Out>
  __device__ static float store(const Params& p, Out* h, const GemmTile& tile, int row_block,
                                const MmaAccumulators<Tile>& acc) {
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    const int64_t j0 = first_h_column<Tile>(row_block);
    const GatedActivation<kKind, kBias, Tile> activation(p, tile.expert, j0);
    return store_direct<Tile>(p, h, tile, at, j0, acc,
                              [&](int mt, int /*c*/, float gate, float up) { return activation(mt, gate, up); });
  }

  // Writes value(mt, c, gate, up) of this thread's accumulator pairs (for_each_accumulator_pair) that
  // fall in h straight to global memory, in FP32 or rounded to BF16 (the mma.sync tiles' stores); `at`
  // and j0 are this thread's AccumulatorPlace and first_h_column. Returns the largest |value| written
  // in FP32 (NaN if any is), else 0.
  template <class Tile, class Out, class Value>
  __device__ static float store_direct(const Params& p, Out* h, const GemmTile& tile, const AccumulatorPlace& at,
                                       int64_t j0, const MmaAccumulators<Tile>& acc, Value&& value) {
    Out* h0 = h + int64_t(tile.row_begin + at.first_token) * p.intermediate + j0;
    const int columns = tile.rows - at.first_token;  // columns c < columns are token rows of the tile
    float amax = 0.0f;
    for_each_accumulator_pair<Tile>(acc, [&](int mt, int c, float gate, float up) {
      const float v = value(mt, c, gate, up);
      if (c >= columns || j0 + 8 * mt >= p.intermediate) return;
      Out* out = h0 + (c * p.intermediate + 8 * mt);  // 32 bits: c < 128, intermediate <= kMaxMoeWidth
      if constexpr (std::is_same_v<Out, float>) {
        *out = v;
        amax = nan_max(amax, fabsf(v));
      } else {
        *out = float_to_bf16(v);
      }
    });
    return amax;
  }

  // h = act(gate, up) in BF16 through shared memory (gemm/staged_h.cuh), every consumer thread.
  template <Activation kKind, bool kBias, class Tile>
  __device__ static void store_staged(const Params& p, const GemmTile& tile, int row_block,
                                      const MmaAccumulators<Tile>& acc, char* ring) {
    const GatedActivation<kKind, kBias, Tile> activation(p, tile.expert, first_h_column<Tile>(row_block));
    StagedH<Tile>(ring).write(p.h_bf16, p.intermediate, tile, row_block, [&](int mt, int nt, int half) {
      return activation(mt, acc[mt][nt][half], acc[mt][nt][2 + half]);
    });
  }

  // W4A4 with a calibrated global scale (p.h_global_scale): h fake-quantized here, into BF16, so
  // that no kernel reads it back in FP32. The values are the quantization kernel's (the same codec
  // on the same FP32 h). A 16-column NVFP4 block of one token is m-tiles mt and mt + 1 of one warp
  // (8 h columns each, mt even; epilogue_quantizes_h), over the eight lanes of one lane % 4, each
  // holding two of its values. Those eight lanes hold the same blocks (one per m-tile pair, n-tile
  // and half), so they split them: the maxima go round in halves (reduce_scatter_max), each lane
  // works out the scales of an eighth of the blocks (two divisions each), and hands them to the
  // others.
  template <Activation kKind, bool kBias, class Tile>
  __device__ static void store_fake_quantized(const Params& p, const GemmTile& tile, int row_block,
                                              const MmaAccumulators<Tile>& acc, char* ring) {
    static_assert(epilogue_quantizes_h(tile_config<Tile>()), "apply() calls this only where the tile can");
    constexpr int kBlocks = Tile::kMTiles * Tile::kNTiles;  // m-tile pairs x n-tiles x halves
    constexpr int kPadded = (kBlocks + 7) / 8 * 8, kOwned = kPadded / 8;
    const GatedActivation<kKind, kBias, Tile> activation(p, tile.expert, first_h_column<Tile>(row_block));
    float lo[kBlocks], hi[kBlocks];  // block b's h columns j and j + 8 (BlockPlace), one per m-tile
    uint32_t amax_bits[kPadded];
#pragma unroll
    for (int b = 0; b < kPadded; ++b) {
      if (b >= kBlocks) {
        amax_bits[b] = 0;
        continue;
      }
      const BlockPlace<Tile> at_b(b);
      lo[b] = activation(at_b.mt, acc[at_b.mt][at_b.nt][at_b.half], acc[at_b.mt][at_b.nt][2 + at_b.half]);
      hi[b] = activation(at_b.mt + 1, acc[at_b.mt + 1][at_b.nt][at_b.half], acc[at_b.mt + 1][at_b.nt][2 + at_b.half]);
      // As unsigned integers non-negative floats order like their values and a NaN's bits exceed
      // Inf's, so a NaN wins, and its scale is the block quantizer's (whose amax is a NaN then).
      amax_bits[b] = max(float_to_bits(lo[b]) & 0x7FFFFFFFu, float_to_bits(hi[b]) & 0x7FFFFFFFu);
    }
    reduce_scatter_max(amax_bits);
    Nvfp4FakeScale owned[kOwned];  // blocks kOwned * row + i
#pragma unroll
    for (int i = 0; i < kOwned; ++i) owned[i] = nvfp4_fake_scale(bits_to_float(amax_bits[i]), p.h_global_scale);
#pragma unroll
    for (int b = 0; b < kBlocks; ++b) {
      const int owner = 4 * (b / kOwned) + threadIdx.x % 4;
      const Nvfp4FakeScale scale{__shfl_sync(0xFFFFFFFFu, owned[b % kOwned].inv, owner),
                                 __shfl_sync(0xFFFFFFFFu, owned[b % kOwned].s, owner)};
      lo[b] = nvfp4_fake_value(lo[b], scale);
      hi[b] = nvfp4_fake_value(hi[b], scale);
    }
    // m-tile mt's values are the lo (mt even) or hi (mt odd) of its pair's blocks; through shared
    // memory in the wgmma tiles, as store_staged, else as store.
    const auto value = [&](int mt, int nt, int half) {
      const int b = BlockPlace<Tile>::index(mt, nt, half);
      return mt % 2 == 0 ? lo[b] : hi[b];
    };
    if constexpr (Tile::kWgmma) {
      StagedH<Tile>(ring).write(p.h_bf16, p.intermediate, tile, row_block, value);
    } else {
      store_direct<Tile>(p, p.h_bf16, tile, AccumulatorPlace::of<Tile>(row_block), first_h_column<Tile>(row_block),
                         acc, [&](int mt, int c, float, float) { return value(mt, c / 8, c % 8); });
    }
  }

  // store_fake_quantized where each warp holds one m-tile (the decode kernels' tiles and the small
  // batches' one-m-tile tile): a block's 16 columns are warps 2i and 2i + 1's m-tiles, 8 columns each
  // (their first column a multiple of 16: every row block starts at one). Each warp takes its half's
  // amax per token column over the eight lanes of one lane % 4 (three shuffles), hands it to the other
  // warp of its pair through shared memory, and quantizes with the larger. Every thread of the warps
  // that hold the sums calls this (named barrier 1, which the mainloop's slice 0 used).
  template <Activation kKind, bool kBias, class Tile>
  __device__ static void store_fake_quantized_by_warp_pairs(const Params& p, const GemmTile& tile, int row_block,
                                                            const MmaAccumulators<Tile>& acc) {
    static_assert(Tile::kMTiles == 1 && Tile::kWarps % 2 == 0 && !Tile::kWgmma, "warps in pairs of one m-tile each");
    __shared__ uint32_t half_amax[Tile::kWarps][Tile::kNTiles][2][4];  // warp, n-tile, half, lane % 4
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    const int64_t j0 = first_h_column<Tile>(row_block);
    const GatedActivation<kKind, kBias, Tile> activation(p, tile.expert, j0);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float h[Tile::kNTiles][2];
    uint32_t amax_bits[Tile::kNTiles][2];
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        h[nt][half] = activation(0, acc[0][nt][half], acc[0][nt][2 + half]);
        // As in store_fake_quantized: the bits of |h| order as its values, and a NaN wins.
        uint32_t bits = float_to_bits(h[nt][half]) & 0x7FFFFFFFu;
        bits = max(bits, __shfl_xor_sync(0xFFFFFFFFu, bits, 4));
        bits = max(bits, __shfl_xor_sync(0xFFFFFFFFu, bits, 8));
        amax_bits[nt][half] = max(bits, __shfl_xor_sync(0xFFFFFFFFu, bits, 16));
        if (lane < 4) half_amax[warp][nt][half][lane] = amax_bits[nt][half];
      }
    ptx::named_barrier_sync(1, Tile::kWarps * 32);
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const uint32_t block = max(amax_bits[nt][half], half_amax[warp ^ 1][nt][half][lane % 4]);
        h[nt][half] = nvfp4_fake_value(h[nt][half], nvfp4_fake_scale(bits_to_float(block), p.h_global_scale));
      }
    store_direct<Tile>(p, p.h_bf16, tile, at, j0, acc, [&](int, int c, float, float) { return h[c / 8][c % 8]; });
  }

  // Block b of a thread's accumulators in store_fake_quantized: m-tiles mt (even) and mt + 1 of n-tile
  // nt, accumulator half `half`; index() is the block of m-tile mt (either of the pair), nt and half.
  template <class Tile>
  struct BlockPlace {
    int mt, nt, half;
    __device__ constexpr explicit BlockPlace(int b)
        : mt(2 * (b / (2 * Tile::kNTiles))), nt(b / 2 % Tile::kNTiles), half(b % 2) {}
    __device__ static constexpr int index(int mt, int nt, int half) { return (mt / 2 * Tile::kNTiles + nt) * 2 + half; }
  };

  // The maxima of v[b] over the eight lanes of this lane % 4 (lane bits 2-4), scattered: in three
  // rounds, from lane bit 4 down, each lane keeps half of what it has and sends the other half to
  // the lane across that bit, which keeps that half, so v[i] ends as the maximum of block
  // kN / 8 * (lane / 4) + i, for i < kN / 8. 7/8 of a shuffle per block instead of the 3 of a
  // maximum that every lane gets.
  template <int kN>
  __device__ static void reduce_scatter_max(uint32_t (&v)[kN]) {
    static_assert(kN % 8 == 0, "eight lanes share the blocks");
    exchange_halves<kN, 16>(v);
    exchange_halves<kN / 2, 8>(v);
    exchange_halves<kN / 4, 4>(v);
  }

  // One round of reduce_scatter_max over v[0, kWidth): the lane with bit kLaneBit clear keeps the
  // first half, the other the second, each the maximum of its own and its partner's.
  template <int kWidth, int kLaneBit, int kN>
  __device__ static void exchange_halves(uint32_t (&v)[kN]) {
    const bool upper = threadIdx.x & kLaneBit;
#pragma unroll
    for (int i = 0; i < kWidth / 2; ++i) {
      const uint32_t keep = upper ? v[kWidth / 2 + i] : v[i], send = upper ? v[i] : v[kWidth / 2 + i];
      v[i] = max(keep, __shfl_xor_sync(0xFFFFFFFFu, send, kLaneBit));
    }
  }
};

// GEMM 1 in the kernels of the mma.sync tiles that can quantize h (epilogue_quantizes_h) for W4A4 with
// a calibrated h scale: GateUpEpilogue with its quantizing path compiled in, which its own kernels
// leave out (see apply_form). The wgmma tiles' GateUpEpilogue kernels carry the path already.
struct GateUpQuantizingEpilogue : GateUpEpilogue {
  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc,
                               char* ring = nullptr) {
    static_assert(!Tile::kWgmma && epilogue_quantizes_h(tile_config<Tile>()), "an mma.sync tile that can quantize h");
    apply_form<true, Tile, true>(p, tile, row_block, acc, ring);
  }
};

// GEMM 2's value of this thread's accumulators: y = acc * alpha + bias, m-tile mt's lo values at y
// column n0 + 16 mt (AccumulatorPlace), its hi values 8 beyond. Both GEMM 2 epilogues (DownEpilogue,
// staged_y.cuh) scale through it.
template <class Tile, bool kBias = true>
struct DownScaling {
  float alpha;
  MTileBias<Tile, kBias> bias_lo, bias_hi;
  int64_t n0;

  __device__ DownScaling(const DownOutput& p, int expert, int row_block)
      : alpha(epilogue_alpha(p.down_scale_2[expert], p.quantized_input, p.input_scale)),
        bias_lo(p.bias, expert, p.hidden, first_column(row_block), 16),
        bias_hi(p.bias, expert, p.hidden, first_column(row_block) + 8, 16),
        n0(first_column(row_block)) {}
  __device__ float lo(int mt, float v) const { return bias_lo.add(mt, v * alpha); }
  __device__ float hi(int mt, float v) const { return bias_hi.add(mt, v * alpha); }

 private:
  __device__ static int64_t first_column(int row_block) {
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    return at.first_tile16 * 16 + at.row;
  }
};

// GEMM 2: y[row][n] in FP32, one value per accumulator element.
struct DownEpilogue {
  using Params = DownOutput;

  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc,
                               char* ring = nullptr) {
    apply_form<true, Tile>(p, tile, row_block, acc, ring);
  }

  // As GateUpEpilogue::apply_form.
  template <bool kBias, class Tile>
  __device__ static void apply_form(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc,
                                    char* /*ring*/ = nullptr) {
    const DownScaling<Tile, kBias> scaling(p, tile.expert, row_block);
    const AccumulatorPlace at = AccumulatorPlace::of<Tile>(row_block);
    const int64_t n0 = scaling.n0;
    float* y0 = p.y + int64_t(tile.row_begin + at.first_token) * p.hidden + n0;
    const int columns = tile.rows - at.first_token;
    for_each_accumulator_pair<Tile>(acc, [&](int mt, int c, float lo, float hi) {
      if (c >= columns) return;
      float* out = y0 + (c * p.hidden + 16 * mt);  // 32 bits, as in GEMM 1's
      if (n0 + 16 * mt < p.hidden) out[0] = scaling.lo(mt, lo);
      if (n0 + 16 * mt + 8 < p.hidden) out[8] = scaling.hi(mt, hi);
    });
  }
};

}  // namespace fp4moe::cuda
