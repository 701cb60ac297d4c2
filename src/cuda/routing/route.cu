// route_on_device (routing/routing.h): one warp per token. The warp keeps the token's scores in
// shared memory as order-preserving integer keys and takes the k best one at a time (WarpTopK: two
// warp reductions a pick), so the order is route()'s (score descending, id ascending) for any k.
// Each value route() computes is computed here the same way, in the same precision and, where
// route() sums over the chosen experts, in the same order; the exponentials run in double and round
// once to float, which matches the host's expf but on the rarest ties.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/launch.h"
#include "cuda/common/ptx.cuh"
#include "fp4moe/error.h"
#include "fp4moe/routing/routing.h"
#include "routing/routing_args.h"

namespace fp4moe {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kMaxWarpsPerCta = 4;
constexpr int kMaxSharedBytes = 48 * 1024;  // without the opt-in to more

// One warp's shared memory, in 4-byte words: a key and a value per expert, a key per group, the k
// chosen experts' values.
__host__ __device__ inline int warp_words(int num_experts, const RoutingParams& p) {
  return 2 * num_experts + (p.method == RoutingMethod::kSigmoidGroupedTopk ? p.num_groups : 0) + p.top_k;
}

// A score as an unsigned key whose order is the scores' (-0 ranked as +0, as route() compares them);
// 0 is no score's key (it would be a NaN's) and marks an entry taken or excluded.
__device__ __forceinline__ uint32_t key_of(float score) {
  const uint32_t bits = __float_as_uint(score + 0.0f);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

__device__ __forceinline__ float score_of(uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? key & 0x7fffffffu : ~key);
}

// Takes the entries of keys[0..n) one at a time in route()'s order (key descending, index
// ascending). Lane l owns the entries l, l + 32, ... and alone reads or writes them here; it keeps
// the best of its own, the warp agrees on the best of those in two reductions (the largest key, then
// the lowest index holding it), and only the winner's lane looks at its entries again.
class WarpTopK {
 public:
  __device__ WarpTopK(uint32_t* keys, int n) : keys_(keys), n_(n) { rescan(); }

  // The next best entry's index and key (the caller asks for at most as many as are not 0).
  __device__ int take(uint32_t& key) {
    key = __reduce_max_sync(kFullMask, best_key_);
    const int index = int(__reduce_min_sync(kFullMask, best_key_ == key ? uint32_t(best_index_) : 0xffffffffu));
    if (index % 32 == lane()) {
      keys_[index] = 0;
      rescan();
    }
    return index;
  }

 private:
  __device__ static int lane() { return int(threadIdx.x % 32); }
  __device__ void rescan() {
    best_key_ = 0;
    best_index_ = -1;
#pragma unroll 4  // the loads ahead of the comparisons
    for (int i = lane(); i < n_; i += 32) {
      const uint32_t k = keys_[i];
      if (k > best_key_) {  // strictly: the lane's lowest index among equal keys
        best_key_ = k;
        best_index_ = i;
      }
    }
  }

  uint32_t* keys_;
  int n_;
  uint32_t best_key_ = 0;
  int best_index_ = -1;
};

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// expf rounded once from double (the device's expf is within 2 ulps; the host's is correctly
// rounded but on rare ties).
__device__ __forceinline__ float exp_rounded(float x) { return float(exp(double(x))); }

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + exp_rounded(-x)); }

// DeepSeek-V3's groups: each scored by the sum of its two best biased scores (its one score when a
// group has a single expert), a lane per group; the best topk_group groups kept; then each lane
// excludes its experts of the other groups. Reads other lanes' keys: the caller has synced the warp.
__device__ void keep_best_groups(uint32_t* keys, int num_experts, const RoutingParams& p, uint32_t* group_keys) {
  const int lane = int(threadIdx.x % 32), group_size = num_experts / p.num_groups;
  for (int g = lane; g < p.num_groups; g += 32) {
    uint32_t first = 0, second = 0;
#pragma unroll 8  // the loads ahead of the comparisons
    for (int i = g * group_size; i < (g + 1) * group_size; ++i) {
      const uint32_t k = keys[i];
      if (k > first) {
        second = first;
        first = k;
      } else if (k > second) {
        second = k;
      }
    }
    float score = 0.0f + score_of(first);  // route()'s sum: from 0, the best, then the second
    if (group_size > 1) score += score_of(second);
    group_keys[g] = key_of(score);
  }
  __syncwarp();
  WarpTopK groups(group_keys, p.num_groups);
  uint32_t unused;
  for (int r = 0; r < p.topk_group; ++r) groups.take(unused);  // a kept group's key becomes 0
  __syncwarp();
  for (int i = lane; i < num_experts; i += 32)
    if (group_keys[i / group_size] != 0) keys[i] = 0;
}

__global__ void __launch_bounds__(kMaxWarpsPerCta * 32)
    route_kernel(const float* __restrict__ logits, int num_tokens, int num_experts, RoutingParams p,
                 int32_t* __restrict__ topk_ids, float* __restrict__ topk_weights) {
  extern __shared__ uint32_t shared[];
  // Launched as the forward's kernels are (common/launch.h): the logits' writer, and any forward still
  // reading the ids this overwrites, end first; then the forward after this may launch and wait.
  cuda::ptx::wait_for_predecessor();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  const int64_t token = int64_t(blockIdx.x) * warps + warp;
  if (token >= num_tokens) return;  // the whole warp
  const int n = num_experts, k = p.top_k;
  const bool grouped = p.method == RoutingMethod::kSigmoidGroupedTopk;
  uint32_t* keys = shared + int64_t(warp) * warp_words(n, p);  // the ranking
  float* values = reinterpret_cast<float*>(keys + n);          // the exponentials, or the sigmoids
  uint32_t* group_keys = keys + 2 * n;
  float* picked = reinterpret_cast<float*>(group_keys + (grouped ? p.num_groups : 0));
  const float* row = logits + token * n;
  int32_t* ids = topk_ids + token * k;
  float* weights = topk_weights + token * k;

  // The row: what route() would reject, the maximum, and the ranking (the logit, or DeepSeek-V3's
  // biased sigmoid; the softmax's below). Each lane its own entries.
  bool bad = false, any_finite = false;
  float m = -INFINITY;
#pragma unroll 4
  for (int i = lane; i < n; i += 32) {
    const float v = row[i];
    bad |= isnan(v) || v == INFINITY;
    any_finite |= isfinite(v);
    m = fmaxf(m, v);
    if (grouped) {
      const float bias = p.correction_bias ? p.correction_bias[i] : 0.0f;
      bad |= !isfinite(bias);
      values[i] = sigmoid(v);
      keys[i] = key_of(values[i] + bias);
    } else {
      values[i] = v;
    }
  }
  if (__any_sync(kFullMask, bad) || !__any_sync(kFullMask, any_finite)) {
    for (int j = lane; j < k; j += 32) {
      ids[j] = j;
      weights[j] = NAN;  // the token's output turns NaN rather than a finite guess
    }
    return;
  }
  if (p.method == RoutingMethod::kSoftmaxTopk) {  // ranked by the probabilities
    m = warp_max(m);
    double sum = 0.0;
#pragma unroll 4
    for (int i = lane; i < n; i += 32) sum += values[i] = exp_rounded(values[i] - m);
    sum = warp_sum(sum);
    for (int i = lane; i < n; i += 32) keys[i] = key_of(float(double(values[i]) / sum));
  } else if (p.method == RoutingMethod::kTopkSoftmax || p.method == RoutingMethod::kTopkSigmoid) {  // by the logits
    for (int i = lane; i < n; i += 32) keys[i] = key_of(values[i]);
  } else {
    __syncwarp();  // the groups read every lane's keys
    keep_best_groups(keys, n, p, group_keys);
  }

  // The k choices, and the sum over them that each method's weights need, in route()'s order.
  WarpTopK experts(keys, n);
  double chosen_sum = 0.0;
  float first = 0.0f;
  for (int j = 0; j < k; ++j) {
    uint32_t key;
    const int id = experts.take(key);
    // softmax_topk: the probability; topk_softmax, topk_sigmoid: the logit; grouped: the unbiased sigmoid.
    const float value = grouped ? values[id] : score_of(key);
    if (j == 0) first = value;
    chosen_sum += p.method == RoutingMethod::kTopkSoftmax ? exp(double(value - first)) : double(value);
    if (j % 32 == lane) {
      ids[j] = id;
      picked[j] = value;
    }
  }
  if (grouped && chosen_sum == 0.0) chosen_sum = 1.0;  // every chosen sigmoid underflowed: weights 0
  for (int j = lane; j < k; j += 32) {  // the lane's own picks
    const float v = picked[j];
    switch (p.method) {
      case RoutingMethod::kSoftmaxTopk:
        weights[j] = p.renormalize ? float(double(v) / chosen_sum) : v;
        break;
      case RoutingMethod::kTopkSoftmax:
        weights[j] = float(exp(double(v - first)) / chosen_sum);
        break;
      case RoutingMethod::kSigmoidGroupedTopk:
        weights[j] = float(double(v) / chosen_sum * double(p.routed_scaling_factor));
        break;
      case RoutingMethod::kTopkSigmoid:
        weights[j] = sigmoid(v);
        break;
    }
  }
}

}  // namespace

void route_on_device(const float* logits, int num_tokens, int num_experts, const RoutingParams& params,
                     int32_t* topk_ids, float* topk_weights, void* stream) {
  constexpr const char* kWhere = "route_on_device";
  check_routing_args(logits, num_tokens, num_experts, params, topk_ids, topk_weights, kWhere);
  require(num_experts <= kMaxDeviceRoutingExperts, kWhere, "num_experts",
          "at most " + std::to_string(kMaxDeviceRoutingExperts) + " on the device", num_experts);
  if (num_tokens == 0) return;
  const size_t warp_bytes = sizeof(uint32_t) * size_t(warp_words(num_experts, params));
  const int warps = int(std::min<size_t>(kMaxWarpsPerCta, kMaxSharedBytes / warp_bytes));
  const unsigned blocks = unsigned((int64_t(num_tokens) + warps - 1) / warps);
  int device = 0;
  cuda::check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  // With programmatic dependent launch on Hopper, so that the layer's first kernel (launched so too)
  // becomes resident while this one runs instead of after it.
  const cuda::Launch launch{static_cast<cudaStream_t>(stream), cuda::device_is_hopper(device)};
  cuda::launch_kernel(route_kernel, blocks, warps * 32, warps * warp_bytes, launch, "route_kernel", logits, num_tokens,
                      num_experts, params, topk_ids, topk_weights);
}

}  // namespace fp4moe
