// The CPU forward, step by step: group the (token, slot) pairs by local expert, prepare the
// activations (BF16 -> float, or NVFP4 round trip in W4A4), GEMM 1 + activation into the
// intermediate, its BF16 rounding or NVFP4 round trip, GEMM 2 + the weighted combine.
// Both GEMMs split the weight rows over threads in tiles; each output element is produced by one
// thread with a fixed summation order, so the result has the same bits for any thread count.
#include "moe/cpu_forward.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/activation.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

// Weight rows decoded together: the activation row is then read once per tile, not once per row.
constexpr int64_t kRowTile = 8;
constexpr size_t kAlign = 64;
// Lanes of the dot product: K is a multiple of 16, and 8 independent sums vectorize.
constexpr int kLanes = 8;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Where each scratch array lives inside the workspace (byte offsets from an aligned base).
struct Layout {
  size_t a = 0, h = 0, pair_token = 0, pair_of_slot = 0, expert_offsets = 0, workers = 0;
  size_t worker_rows_bytes = 0, worker_y_bytes = 0, total = 0;
};

Layout make_layout(const MoeConfig& c, int threads, int num_tokens, size_t acc_bytes) {
  const size_t T = size_t(num_tokens), pairs = T * size_t(c.top_k), H = size_t(c.hidden),
               I = size_t(c.intermediate), E = size_t(c.num_local_experts());
  Layout l;
  size_t at = 0;
  auto take = [&at](size_t bytes) {
    const size_t offset = at;
    at += align_up(bytes);
    return offset;
  };
  l.a = take(T * H * sizeof(float));
  l.h = take(pairs * I * sizeof(float));
  l.pair_token = take(pairs * sizeof(int32_t));
  l.pair_of_slot = take(pairs * sizeof(int32_t));
  l.expert_offsets = take((E + 1) * sizeof(int32_t));
  l.worker_rows_bytes = align_up(size_t(kRowTile) * std::max(2 * H, I) * sizeof(float));
  l.worker_y_bytes = align_up(size_t(kRowTile) * pairs * acc_bytes);
  l.workers = take(size_t(threads) * (l.worker_rows_bytes + l.worker_y_bytes));
  l.total = at + kAlign;  // room to align the caller's pointer
  return l;
}

// The scratch arrays of one forward, carved out of the workspace.
template <class Acc>
struct Scratch {
  float* a;                // [T, H] GEMM 1 input as float (exact BF16, or e2m1*e4m3 in W4A4)
  float* h;                // [P, I] intermediate; GEMM 2 input after its rounding / quantization
  int32_t* pair_token;     // [P] token of pair p; pairs are grouped by expert
  int32_t* pair_of_slot;   // [T*k] pair index of (t, j), -1 when the slot contributes nothing
  int32_t* expert_offsets; // [E+1] pairs of local expert e are [offsets[e], offsets[e+1])
  unsigned char* workers;
  size_t worker_rows_bytes, worker_y_bytes;

  float* worker_rows(int w) const {
    return reinterpret_cast<float*>(workers + size_t(w) * (worker_rows_bytes + worker_y_bytes));
  }
  Acc* worker_y(int w) const {
    return reinterpret_cast<Acc*>(workers + size_t(w) * (worker_rows_bytes + worker_y_bytes) + worker_rows_bytes);
  }
};

template <class Acc>
Scratch<Acc> carve(void* workspace, const Layout& l) {
  const uintptr_t raw = reinterpret_cast<uintptr_t>(workspace);
  unsigned char* base = reinterpret_cast<unsigned char*>((raw + kAlign - 1) / kAlign * kAlign);
  return {reinterpret_cast<float*>(base + l.a),
          reinterpret_cast<float*>(base + l.h),
          reinterpret_cast<int32_t*>(base + l.pair_token),
          reinterpret_cast<int32_t*>(base + l.pair_of_slot),
          reinterpret_cast<int32_t*>(base + l.expert_offsets),
          base + l.workers,
          l.worker_rows_bytes,
          l.worker_y_bytes};
}

const std::array<float, 16>& e2m1_table() {
  static const std::array<float, 16> table = [] {
    std::array<float, 16> t{};
    for (int i = 0; i < 16; ++i) t[size_t(i)] = e2m1_to_float(uint8_t(i));
    return t;
  }();
  return table;
}

// w[0..cols) = e2m1(q) * e4m3(s) of one row: exact in float, scale_2 left out.
void decode_row(const uint8_t* packed, const uint8_t* scales, int64_t cols, float* w) {
  const std::array<float, 16>& lut = e2m1_table();
  for (int64_t b = 0; b < cols / kNvfp4BlockSize; ++b) {
    const float s = e4m3_to_float(scales[b]);
    const uint8_t* q = packed + b * (kNvfp4BlockSize / 2);
    float* dst = w + b * kNvfp4BlockSize;
    for (int i = 0; i < kNvfp4BlockSize / 2; ++i) {
      dst[2 * i] = lut[q[i] & 0xFu] * s;
      dst[2 * i + 1] = lut[q[i] >> 4] * s;
    }
  }
}

void decode_rows(const CpuNvfp4Matrix& m, int64_t cols, int64_t row_begin, int64_t rows, float* w) {
  for (int64_t r = 0; r < rows; ++r)
    decode_row(m.packed.data() + (row_begin + r) * (cols / 2),
               m.scales.data() + (row_begin + r) * (cols / kNvfp4BlockSize), cols, w + r * cols);
}

// sum_k a[k] * w[k] in Acc, n a multiple of kLanes; lane l sums k = l mod kLanes, lanes added as a tree.
template <class Acc>
Acc dot(const float* a, const float* w, int64_t n) {
  Acc lane[kLanes] = {};
  for (int64_t k = 0; k < n; k += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += Acc(a[k + l]) * Acc(w[k + l]);
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Replaces each row of x [rows, cols] by its NVFP4 round trip without the global scale: e2m1 * e4m3.
void nvfp4_round_trip_rows(float* x, int64_t rows, int64_t cols, float global_scale, int threads) {
  parallel_for(rows, threads, [&](int64_t begin, int64_t end) {
    float block[kNvfp4BlockSize];
    uint8_t codes[kNvfp4BlockSize / 2];
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t b = 0; b < cols / kNvfp4BlockSize; ++b) {
        float* v = x + r * cols + b * kNvfp4BlockSize;
        std::memcpy(block, v, sizeof(block));
        const uint8_t scale = quantize_nvfp4_block(block, global_scale, codes);
        decode_row(codes, &scale, kNvfp4BlockSize, v);
      }
    }
  });
}

// Calls fn(worker, tile_begin, tile_end) on at most `threads` workers covering [0, tiles).
template <class Fn>
void for_each_worker(int64_t tiles, int threads, Fn&& fn) {
  const int64_t workers = std::min<int64_t>(threads, tiles);
  parallel_for(workers, int(workers), [&](int64_t w_begin, int64_t w_end) {
    for (int64_t w = w_begin; w < w_end; ++w) fn(int(w), tiles * w / workers, tiles * (w + 1) / workers);
  });
}

// Counting sort of the valid (t, j) slots by local expert, stable in (t, j) order. Returns P.
template <class Acc>
int group_pairs(const MoeConfig& c, const ForwardArgs& args, const Scratch<Acc>& s) {
  const int E = c.num_local_experts(), k = c.top_k;
  const int64_t slots = int64_t(args.num_tokens) * k;
  auto local_expert = [&](int64_t slot) {
    const int64_t e = int64_t(args.topk_ids[slot]) - c.local_expert_start;
    return (args.topk_ids[slot] >= 0 && e >= 0 && e < E) ? int(e) : -1;
  };
  std::fill(s.expert_offsets, s.expert_offsets + E + 1, 0);
  for (int64_t slot = 0; slot < slots; ++slot)
    if (const int e = local_expert(slot); e >= 0) ++s.expert_offsets[e + 1];
  for (int e = 0; e < E; ++e) s.expert_offsets[e + 1] += s.expert_offsets[e];
  // offsets[e] is expert e's fill cursor; it ends at expert e + 1's start, so shift back after.
  for (int64_t slot = 0; slot < slots; ++slot) {
    const int e = local_expert(slot);
    if (e < 0) {
      s.pair_of_slot[slot] = -1;
      continue;
    }
    const int p = s.expert_offsets[e]++;
    s.pair_token[p] = int32_t(slot / k);
    s.pair_of_slot[slot] = p;
  }
  for (int e = E; e > 0; --e) s.expert_offsets[e] = s.expert_offsets[e - 1];
  s.expert_offsets[0] = 0;
  return s.expert_offsets[E];
}

// Fills a [T, H]; returns the global scale the GEMM 1 alphas divide by (1 in W4A16).
template <class Acc>
float prepare_activations(const CpuForwardPlan& plan, const ForwardArgs& args, const Scratch<Acc>& s) {
  const MoeConfig& c = *plan.config;
  const int64_t n = int64_t(args.num_tokens) * c.hidden;
  for (int64_t i = 0; i < n; ++i) s.a[i] = bf16_to_float(args.x[i]);
  if (c.mode == QuantMode::kW4A16) return 1.0f;
  const float gs1 = plan.gemm1_input_scale > 0.0f ? 1.0f / plan.gemm1_input_scale
                                                  : global_scale_from_amax(amax(args.x, n));
  nvfp4_round_trip_rows(s.a, args.num_tokens, c.hidden, gs1, plan.threads);
  return gs1;
}

// h[p, n] = act(gate, up) for every pair (each projection times its alpha, plus its bias), W4A16
// rounding to BF16 included.
template <class Acc>
void gemm1_activation(const CpuForwardPlan& plan, const Scratch<Acc>& s, float gs1) {
  const MoeConfig& c = *plan.config;
  const int64_t H = c.hidden, I = c.intermediate;
  const int E = c.num_local_experts();
  for_each_worker(I / kRowTile, plan.threads, [&](int worker, int64_t tile_begin, int64_t tile_end) {
    float* gate_rows = s.worker_rows(worker);
    float* up_rows = gate_rows + kRowTile * H;
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const int64_t n0 = tile * kRowTile;
      for (int e = 0; e < E; ++e) {
        if (s.expert_offsets[e] == s.expert_offsets[e + 1]) continue;
        const CpuExpert& w = (*plan.experts)[size_t(e)];
        const Acc alpha_gate = Acc(w.gate.scale_2) / Acc(gs1), alpha_up = Acc(w.up.scale_2) / Acc(gs1);
        decode_rows(w.gate, H, n0, kRowTile, gate_rows);
        decode_rows(w.up, H, n0, kRowTile, up_rows);
        for (int p = s.expert_offsets[e]; p < s.expert_offsets[e + 1]; ++p) {
          const float* a = s.a + int64_t(s.pair_token[p]) * H;
          for (int64_t r = 0; r < kRowTile; ++r) {
            const Acc gate = dot<Acc>(a, gate_rows + r * H, H) * alpha_gate + w.gate.bias_at(n0 + r);
            const Acc up = dot<Acc>(a, up_rows + r * H, H) * alpha_up + w.up.bias_at(n0 + r);
            float h = float(apply_activation<Acc>(c.activation, gate, up));
            if (c.mode == QuantMode::kW4A16) h = bf16_to_float(float_to_bf16(h));
            s.h[int64_t(p) * I + n0 + r] = h;
          }
        }
      }
    }
  });
}

// W4A4: the intermediate's NVFP4 round trip; returns the global scale GEMM 2's alphas divide by.
template <class Acc>
float quantize_intermediate(const CpuForwardPlan& plan, const Scratch<Acc>& s, int pairs) {
  const MoeConfig& c = *plan.config;
  if (c.mode == QuantMode::kW4A16) return 1.0f;
  const float gs2 = plan.gemm2_input_scale > 0.0f ? 1.0f / plan.gemm2_input_scale
                                                  : global_scale_from_amax(amax(s.h, int64_t(pairs) * c.intermediate));
  nvfp4_round_trip_rows(s.h, pairs, c.intermediate, gs2, plan.threads);
  return gs2;
}

void store(bf16* out, float v) { *out = float_to_bf16(v); }
void store(double* out, double v) { *out = v; }

// y_pair = W2 h * alpha2 + bias per pair, then out[t, n] = sum_j weight[t, j] * y_pair(t, j)[n] in slot order.
template <class Acc, class Out>
void gemm2_combine(const CpuForwardPlan& plan, const ForwardArgs& args, const Scratch<Acc>& s, float gs2, Out* out) {
  const MoeConfig& c = *plan.config;
  const int64_t H = c.hidden, I = c.intermediate;
  const int E = c.num_local_experts(), k = c.top_k;
  for_each_worker(H / kRowTile, plan.threads, [&](int worker, int64_t tile_begin, int64_t tile_end) {
    float* down_rows = s.worker_rows(worker);
    Acc* y = s.worker_y(worker);  // [P, kRowTile]
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const int64_t n0 = tile * kRowTile;
      for (int e = 0; e < E; ++e) {
        if (s.expert_offsets[e] == s.expert_offsets[e + 1]) continue;
        const CpuExpert& w = (*plan.experts)[size_t(e)];
        const Acc alpha = Acc(w.down.scale_2) / Acc(gs2);
        decode_rows(w.down, I, n0, kRowTile, down_rows);
        for (int p = s.expert_offsets[e]; p < s.expert_offsets[e + 1]; ++p) {
          const float* b = s.h + int64_t(p) * I;
          for (int64_t r = 0; r < kRowTile; ++r)
            y[p * kRowTile + r] = dot<Acc>(b, down_rows + r * I, I) * alpha + w.down.bias_at(n0 + r);
        }
      }
      for (int64_t t = 0; t < args.num_tokens; ++t) {
        for (int64_t r = 0; r < kRowTile; ++r) {
          Acc sum = 0;
          for (int j = 0; j < k; ++j) {
            const int p = s.pair_of_slot[t * k + j];
            if (p >= 0) sum += Acc(args.topk_weights[t * k + j]) * y[p * kRowTile + r];
          }
          store(out + t * H + n0 + r, sum);
        }
      }
    }
  });
}

}  // namespace

size_t cpu_forward_workspace_bytes(const MoeConfig& config, int threads, int num_tokens, size_t acc_bytes) {
  return num_tokens == 0 ? 0 : make_layout(config, threads, num_tokens, acc_bytes).total;
}

template <class Acc, class Out>
void cpu_moe_forward(const CpuForwardPlan& plan, const ForwardArgs& args, void* workspace, Out* out) {
  if (args.num_tokens == 0) return;
  const Scratch<Acc> s = carve<Acc>(workspace, make_layout(*plan.config, plan.threads, args.num_tokens, sizeof(Acc)));
  const int pairs = group_pairs(*plan.config, args, s);
  const float gs1 = prepare_activations(plan, args, s);
  gemm1_activation(plan, s, gs1);
  const float gs2 = quantize_intermediate(plan, s, pairs);
  gemm2_combine(plan, args, s, gs2, out);
}

template void cpu_moe_forward<float, bf16>(const CpuForwardPlan&, const ForwardArgs&, void*, bf16*);
template void cpu_moe_forward<double, double>(const CpuForwardPlan&, const ForwardArgs&, void*, double*);

}  // namespace fp4moe
