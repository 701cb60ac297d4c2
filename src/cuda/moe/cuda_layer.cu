// The CUDA backend of MoeLayer. Load: each expert's checkpoint-layout weights are copied to the
// device and repacked into the GEMM layout. Forward: a fixed sequence of launches on the caller's
// stream (plan -> [quantize x] -> GEMM 1 + activation -> [quantize h] -> GEMM 2 -> combine, each
// GEMM launched again for the large tiles where moe/dispatch.h adds them; decode batches:
// [quantize x] -> GEMM 1 -> [quantize h] -> GEMM 2, gemm/decode_gemm.h; h quantized by GEMM 1 where
// moe/dispatch.h's epilogue rule says so), with every buffer carved from the caller's workspace: no
// allocation, no host sync, graph-capturable.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cuda/common/check.h"
#include "cuda/common/launch.h"
#include "cuda/gemm/decode_gemm.h"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/repack.h"
#include "cuda/moe/combine.h"
#include "cuda/moe/dispatch.h"
#include "cuda/moe/workspace.h"
#include "cuda/quant/quantize.h"
#include "cuda/routing/plan.h"
#include "cuda/routing/sorted_rows.h"
#include "fp4moe/error.h"
#include "fp4moe/moe/buffer.h"
#include "moe/backends.h"

namespace fp4moe {
namespace cuda {
namespace {

// Device-resident packed weights of one projection kind for all local experts.
struct PackedWeights {
  PackedWeightShape shape;
  int experts;
  Buffer codes, scales;

  PackedWeights(PackedWeightShape s, int experts)
      : shape(s),
        experts(experts),
        codes(Backend::kCuda, size_t(s.code_bytes()) * experts),
        scales(Backend::kCuda, size_t(s.scale_bytes()) * experts) {}

  PackedExpertWeights view(bool evict_first = false) const {
    return {static_cast<const uint8_t*>(codes.data()), static_cast<const uint8_t*>(scales.data()), shape, experts,
            evict_first};
  }
  uint8_t* expert_codes(int e) { return static_cast<uint8_t*>(codes.data()) + e * shape.code_bytes(); }
  uint8_t* expert_scales(int e) { return static_cast<uint8_t*>(scales.data()) + e * shape.scale_bytes(); }
};

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

class CudaMoeLayer final : public MoeLayer {
 public:
  CudaMoeLayer(const MoeConfig& config, const BackendOptions& options)
      : MoeLayer(config),
        device_(select_device(options.cuda_device)),
        hopper_(device_is_hopper(device_)),
        forced_gemm_(forced_gemm_from_env(hopper_)),
        rules_(rule_switches_from_env()),
        gate_up_(packed_weight_shape(WeightRole::kGateUp, config.hidden, config.intermediate),
                 config.num_local_experts()),
        down_(packed_weight_shape(WeightRole::kDown, config.hidden, config.intermediate), config.num_local_experts()),
        scale_2_(Backend::kCuda, sizeof(float) * 3 * config.num_local_experts()),
        bad_scales_(Backend::kCuda, 2 * sizeof(uint32_t)),
        host_scale_2_(3 * size_t(config.num_local_experts()), 0.0f),
        loaded_(size_t(config.num_local_experts()), false) {
    require(config.num_local_experts() <= kPlanMaxLocalExperts, "make_moe_layer", "config.local_experts",
            "at most " + std::to_string(kPlanMaxLocalExperts) + " local experts", config.num_local_experts());
    // The combine and the sorted-row copy hold a token's slots in shared memory: a layer they cannot
    // serve is refused here, not at its first forward.
    require(config.top_k <= kTokenKernelMaxTopK, "make_moe_layer", "config.top_k",
            "at most " + std::to_string(kTokenKernelMaxTopK) + " on the CUDA backend", config.top_k);
    configure_routing_plan();
    configure_grouped_gemms();
    waves_ = device_waves_of(device_);
    own_tile_waves_ = device_waves(waves_.sms, own_tile_ctas_per_sm);
  }

  Backend backend() const override { return Backend::kCuda; }

  void load_expert(int local_expert, const ExpertWeightsView& w) override {
    const MoeConfig& c = config_;
    require(local_expert >= 0 && local_expert < c.num_local_experts(), "load_expert", "local_expert",
            "0..num_local_experts - 1 (" + std::to_string(c.num_local_experts() - 1) + ")", local_expert);
    const std::string name = "expert " + std::to_string(local_expert);
    validate_weight_view(w.gate, "load_expert", name + " gate");
    validate_weight_view(w.up, "load_expert", name + " up");
    validate_weight_view(w.down, "load_expert", name + " down");
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    const std::vector<float> bias = host_biases(w, name);  // checked before anything changes

    // Stage the checkpoint bytes on the device (the views may be host or device memory), then
    // repack. cudaMemcpyDefault resolves the direction from the pointers (unified addressing).
    Staged gate = stage(w.gate, c.intermediate, c.hidden), up = stage(w.up, c.intermediate, c.hidden);
    Staged down = stage(w.down, c.hidden, c.intermediate);
    loaded_[size_t(local_expert)] = false;  // until the repack below succeeds: never half-loaded
    uint32_t* bad_scales = static_cast<uint32_t*>(bad_scales_.data());
    bad_scales_.fill(0);
    launch_repack_weights(WeightRole::kGateUp, gate.matrix, up.matrix, gate_up_.shape,
                          gate_up_.expert_codes(local_expert), gate_up_.expert_scales(local_expert), bad_scales,
                          nullptr);
    launch_repack_weights(WeightRole::kDown, down.matrix, down.matrix, down_.shape, down_.expert_codes(local_expert),
                          down_.expert_scales(local_expert), bad_scales + 1, nullptr);
    const int experts = c.num_local_experts();
    host_scale_2_[0 * experts + local_expert] = w.gate.scale_2;
    host_scale_2_[1 * experts + local_expert] = w.up.scale_2;
    host_scale_2_[2 * experts + local_expert] = w.down.scale_2;
    scale_2_.copy_from_host(host_scale_2_.data(), sizeof(float) * host_scale_2_.size());
    store_biases(local_expert, bias);
    check_cuda(cudaDeviceSynchronize(), "repacking expert weights");  // staging buffers die here
    uint32_t bad[2];
    bad_scales_.copy_to_host(bad, sizeof(bad));
    require_valid_block_scales(!(bad[0] & 1u), name + " gate");
    require_valid_block_scales(!(bad[0] & 2u), name + " up");
    require_valid_block_scales(!(bad[1] & 1u), name + " down");
    loaded_[size_t(local_expert)] = true;
  }

  void set_input_scales(float gemm1_input_scale, float gemm2_input_scale) override {
    validate_input_scale(gemm1_input_scale, "gemm1_input_scale");
    validate_input_scale(gemm2_input_scale, "gemm2_input_scale");
    input_scale_[0] = gemm1_input_scale;
    input_scale_[1] = gemm2_input_scale;
  }

  size_t workspace_bytes(int max_tokens) const override {
    require(max_tokens >= 0 && max_tokens <= config_.max_tokens, "workspace_bytes", "max_tokens",
            "0..config.max_tokens (" + std::to_string(config_.max_tokens) + ")", max_tokens);
    return WorkspaceLayout::make(config_, max_tokens, min_block_tokens(), hopper_).total;
  }

  void forward(const ForwardArgs& args, void* workspace, size_t workspace_size, void* stream_ptr) override {
    check_forward_args(args, workspace, workspace_size);
    const int T = args.num_tokens;
    if (T == 0) return;
    const MoeConfig& c = config_;
    const Launch launch{static_cast<cudaStream_t>(stream_ptr), hopper_};
    const bool w4a4 = c.mode == QuantMode::kW4A4;
    const int experts = c.num_local_experts();
    const int64_t pairs = int64_t(T) * c.top_k;

    const ForwardKernels kernels =
        choose_kernels(T, c, hopper_, forced_gemm_, gate_up_.shape.rows, down_.shape.rows, waves_,
                       calibrated_global_scale(1) > 0.0f, rules_);
    const MmaTileConfig &gemm1 = kernels.gemm1, &gemm2 = kernels.gemm2;
    const WorkspaceLayout layout = WorkspaceLayout::make(c, T, min_block_tokens(), hopper_);
    const RoutingPlan plan = layout.plan(workspace);
    const int64_t max_tiles = max_gemm_tiles(pairs, experts, gemm1.block_tokens);
    const float* scale_2 = static_cast<const float*>(scale_2_.data());
    const GlobalScaleSource x_scale{calibrated_global_scale(0), plan.amax_bits + 0};
    const GlobalScaleSource h_scale{calibrated_global_scale(1), plan.amax_bits + 1};

    // GEMM 1 writes h in BF16, rounded (W4A16) or fake-quantized (W4A4 where it quantizes h), or
    // in FP32 for a quantization kernel.
    const bool h_quantize_kernel = w4a4 && !kernels.gemm1_quantizes_h;
    bf16* h_bf16 = WorkspaceLayout::at<bf16>(workspace, layout.h_bf16);
    float* h_f32 = h_quantize_kernel ? WorkspaceLayout::at<float>(workspace, layout.h_f32) : nullptr;
    float* y = WorkspaceLayout::at<float>(workspace, layout.y);
    bf16* x_quantized = w4a4 ? WorkspaceLayout::at<bf16>(workspace, layout.x_quantized) : nullptr;
    const bf16* gemm1_rows = w4a4 ? x_quantized : args.x;
    const float* bias = static_cast<const float*>(bias_.data());  // null while no expert has biases
    const BiasLayout biases = bias_layout();
    const GateUpOutput gate_up_out{scale_2,
                                   scale_2 + experts,
                                   bias ? bias + biases.gate(0) : nullptr,
                                   bias ? bias + biases.up(0) : nullptr,
                                   w4a4,
                                   x_scale,
                                   c.activation,
                                   c.intermediate,
                                   h_quantize_kernel ? nullptr : h_bf16,
                                   h_f32,
                                   w4a4 && h_scale.calibrated == 0 ? plan.amax_bits + 1 : nullptr,
                                   kernels.gemm1_quantizes_h ? h_scale.calibrated : 0.0f};
    DownOutput down_out{scale_2 + 2 * experts, bias ? bias + biases.down(0) : nullptr, w4a4, h_scale, c.hidden, y};
    const GemmInput h_rows{h_bf16, c.intermediate, nullptr, c.top_k, pairs};

    if (kernels.decode_kernels) {
      const DecodeRouting routing{args.topk_ids, args.topk_weights, T, c.top_k, c.local_expert_start, experts};
      const DecodeOutput out{WorkspaceLayout::at<uint32_t>(workspace, layout.arrivals), args.out,
                             w4a4 ? WorkspaceLayout::at<int>(workspace, layout.valid_rows) : nullptr};
      if (w4a4) launch_decode_fake_quantize(args.x, T, c.hidden, x_scale, plan.amax_bits, x_quantized, launch);
      launch_decode_gate_up(gemm1, gate_up_.view(), GemmInput{gemm1_rows, c.hidden, nullptr, c.top_k, T}, gate_up_out,
                            routing, out, decode_row_blocks(gemm2, down_.view()),
                            launch.capped(kernels.gemm1_ctas_per_sm));
      if (h_quantize_kernel)
        launch_fake_quantize(h_f32, pairs, out.valid_rows, c.intermediate, h_scale, h_bf16, launch);
      launch_decode_down(gemm2, down_.view(), h_rows, down_out, routing, out, launch.capped(kernels.gemm2_ctas_per_sm));
      return;
    }

    const int large_rows = kernels.large_rows();
    const int64_t max_large = max_large_tiles(pairs, large_rows);
    launch_routing_plan(args.topk_ids, int(pairs), c.local_expert_start, experts, gemm1.block_tokens, large_rows, plan,
                        launch);
    if (w4a4) {
      if (x_scale.calibrated == 0) launch_amax(args.x, int64_t(T) * c.hidden, plan.amax_bits + 0, launch);
      launch_fake_quantize_input(args.x, T, c.hidden, x_scale, x_quantized, launch);
    }
    // GEMM 1's rows gathered from x by the pairs' sorted order, or copied in that order first.
    bf16* x_sorted = kernels.sorted_rows ? WorkspaceLayout::at<bf16>(workspace, layout.x_sorted) : nullptr;
    if (x_sorted) launch_gather_sorted_rows(gemm1_rows, !w4a4, T, c.top_k, c.hidden, plan, x_sorted, launch);
    const GemmInput x_rows = x_sorted ? GemmInput{x_sorted, c.hidden, nullptr, c.top_k, pairs}
                                      : GemmInput{gemm1_rows, c.hidden, plan.sorted_pairs, c.top_k, T};
    // Each GEMM's large tiles first (their CTAs are the longest), its other tiles beside them.
    const TileHandoff handoff =
        kernels.tile_handoff ? TileHandoff{plan.tile_done, int(ceil_div(gate_up_.shape.rows, gemm1.block_rows()))}
                             : TileHandoff{};
    const OwnTiles own =
        kernels.own_tiles
            ? OwnTiles{args.topk_ids, int(pairs), c.local_expert_start, experts, own_tile_waves_.of(gemm1)}
            : OwnTiles{};
    // Where y stays in L2 the table's weights stream through it evict-first; the large tiles' do not, as several
    // large CTAs read each hot expert's weights (moe/dispatch.h's y_stays_in_l2).
    const PackedExpertWeights gate_up = gate_up_.view(kernels.y_in_l2), down = down_.view(kernels.y_in_l2);
    if (kernels.large)
      launch_gate_up_gemm(*kernels.large, gate_up_.view(), x_rows, plan.large_tile_list(), max_large, gate_up_out,
                          GemmOrder::kAfter, TileHandoff{}, OwnTiles{}, launch);
    launch_gate_up_gemm(gemm1, gate_up, x_rows, plan, max_tiles, gate_up_out, kernels.gemm1_order(), handoff,
                        own, launch.capped(kernels.gemm1_ctas_per_sm));
    // Where y is to stay in L2, so is h's BF16 form, and its FP32 form leaves as it is read.
    if (h_quantize_kernel)
      launch_fake_quantize(h_f32, pairs, plan.expert_offsets + experts, c.intermediate, h_scale, h_bf16, launch,
                           kernels.y_in_l2 && fake_quantize_can_discard(h_f32, c.intermediate));
    // GEMM 2's K in slices (dispatch.h's gemm2_splits_k): the later slices' partial sums go to y_slice.
    float* y_slice = nullptr;
    if (kernels.gemm2_k_slices > 1) {
      y_slice = WorkspaceLayout::at<float>(workspace, layout.y_slice);
      down_out.k_slices = kernels.gemm2_k_slices;
      down_out.y_slices = y_slice;
      down_out.slice_stride = pairs * c.hidden;
    }
    if (kernels.large)
      launch_down_gemm(*kernels.large, down_.view(), h_rows, plan.large_tile_list(), max_large, down_out,
                       GemmOrder::kAfter, TileHandoff{}, PersistentDown{}, launch);
    launch_down_gemm(gemm2, down, h_rows, plan, max_tiles, down_out, kernels.gemm2_order(), handoff,
                     PersistentDown{kernels.persistent_gemm2 ? waves_.sms : 0, kernels.gemm2_stages_y},
                     launch.capped(kernels.gemm2_ctas_per_sm));
    const YSlices slices{y_slice, down_out.k_slices - 1, pairs * c.hidden};
    launch_combine(y, plan.pair_rows, args.topk_weights, T, c.top_k, c.hidden, args.out, launch, slices,
                   kernels.y_in_l2 && combine_can_discard(y, c.hidden, slices));
  }

 private:
  struct Staged {
    Buffer packed, scales;
    SourceMatrix matrix;
  };

  static int select_device(int requested) {
    int device = requested;
    if (device < 0) check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    return device;
  }

  static Staged stage(const Nvfp4WeightView& view, int64_t rows, int64_t k) {
    const size_t packed_bytes = size_t(rows * k / 2), scale_size = size_t(scale_bytes(view.scale_layout, rows, k));
    Staged s{Buffer(Backend::kCuda, packed_bytes), Buffer(Backend::kCuda, scale_size), {}};
    check_cuda(cudaMemcpy(s.packed.data(), view.packed, packed_bytes, cudaMemcpyDefault), "staging weights");
    check_cuda(cudaMemcpy(s.scales.data(), view.scales, scale_size, cudaMemcpyDefault), "staging weight scales");
    s.matrix = {static_cast<const uint8_t*>(s.packed.data()), static_cast<const uint8_t*>(s.scales.data()),
                view.scale_layout, rows, k};
    return s;
  }

  // An expert's biases as bias_ lays them out ([I] gate, [I] up, [H] down, zeros where a view has
  // none), copied to the host from wherever the views point and checked; empty where it has none.
  std::vector<float> host_biases(const ExpertWeightsView& w, const std::string& name) const {
    const int64_t I = config_.intermediate, H = config_.hidden;
    if (!w.gate.bias && !w.up.bias && !w.down.bias) return {};
    std::vector<float> host(size_t(2 * I + H), 0.0f);
    const std::pair<const Nvfp4WeightView*, const char*> views[3] = {{&w.gate, " gate"}, {&w.up, " up"},
                                                                      {&w.down, " down"}};
    const int64_t offsets[4] = {0, I, 2 * I, 2 * I + H};
    for (int v = 0; v < 3; ++v) {
      if (!views[v].first->bias) continue;
      const int64_t rows = offsets[v + 1] - offsets[v];
      check_cuda(cudaMemcpy(host.data() + offsets[v], views[v].first->bias, sizeof(float) * rows, cudaMemcpyDefault),
                 "staging expert biases");
      Nvfp4WeightView on_host = *views[v].first;
      on_host.bias = host.data() + offsets[v];
      validate_bias(on_host, rows, name + views[v].second);
    }
    return host;
  }

  // Where bias_ holds each projection's biases, in floats: [experts][I] gate, [experts][I] up,
  // [experts][H] down, so that each epilogue indexes its own projection's by expert.
  struct BiasLayout {
    int64_t experts, intermediate, hidden;
    int64_t gate(int64_t expert) const { return expert * intermediate; }
    int64_t up(int64_t expert) const { return (experts + expert) * intermediate; }
    int64_t down(int64_t expert) const { return 2 * experts * intermediate + expert * hidden; }
    int64_t size() const { return experts * (2 * intermediate + hidden); }
  };
  BiasLayout bias_layout() const { return {config_.num_local_experts(), config_.intermediate, config_.hidden}; }

  // bias_ is allocated (zeros) at the first expert with biases; from then on an expert without
  // any gets zeros, so that loading it again drops its old ones. host is host_biases' [I] gate,
  // [I] up, [H] down.
  void store_biases(int local_expert, const std::vector<float>& host) {
    const BiasLayout at = bias_layout();
    const int64_t I = at.intermediate, H = at.hidden;
    if (host.empty() && !bias_.data()) return;
    if (!bias_.data()) {
      bias_ = Buffer(Backend::kCuda, sizeof(float) * size_t(at.size()));
      bias_.fill(0);
    }
    const std::vector<float> zeros(host.empty() ? size_t(2 * I + H) : 0, 0.0f);
    const float* src = host.empty() ? zeros.data() : host.data();
    bias_.copy_from_host(src, sizeof(float) * I, sizeof(float) * size_t(at.gate(local_expert)));
    bias_.copy_from_host(src + I, sizeof(float) * I, sizeof(float) * size_t(at.up(local_expert)));
    bias_.copy_from_host(src + 2 * I, sizeof(float) * H, sizeof(float) * size_t(at.down(local_expert)));
  }

  // 1 / input_scale when calibrated; 0 selects the dynamic amax.
  float calibrated_global_scale(int which) const { return input_scale_[which] > 0 ? 1.0f / input_scale_[which] : 0.0f; }

  void check_forward_args(const ForwardArgs& a, const void* workspace, size_t workspace_size) const {
    const char* where = "forward";
    validate_token_count(config_, a.num_tokens, where);
    for (size_t e = 0; e < loaded_.size(); ++e)
      require(loaded_[e], where, "experts", "every local expert loaded with load_expert() first",
              "local expert " + std::to_string(e) + " not loaded");
    if (a.num_tokens == 0) return;
    validate_input_pointers(a, where, "a non-null device pointer");
    require(a.out != nullptr, where, "args.out", "a non-null device pointer", "null");
    require(aligned16(a.x), where, "args.x", "a 16-byte aligned pointer", "a misaligned one");
    require(aligned16(a.out), where, "args.out", "a 16-byte aligned pointer", "a misaligned one");
    const size_t needed = workspace_bytes(a.num_tokens);
    require(workspace_size >= needed, where, "workspace_size",
            "at least workspace_bytes(num_tokens) = " + std::to_string(needed), std::to_string(workspace_size));
    require(workspace != nullptr, where, "workspace",
            "a non-null device pointer (workspace_bytes(num_tokens) = " + std::to_string(needed) + ")", "null");
    require(aligned16(workspace), where, "workspace", "a 16-byte aligned pointer", "a misaligned one");
    int current = -1;
    check_cuda(cudaGetDevice(&current), "cudaGetDevice");
    require(current == device_, where, "current device",
            "the device the layer was created on (" + std::to_string(device_) + ")", current);
  }

  int device_;
  bool hopper_;  // sm_90: programmatic dependent launch between kernels, wgmma GEMMs
  std::optional<MmaTileConfig> forced_gemm_;  // FP4MOE_GEMM (moe/dispatch.h), for benchmarks
  RuleSwitches rules_;                        // FP4MOE_LARGE_TILES etc. (moe/dispatch.h), likewise
  // CTAs per wave of each tile with decode kernels, counted for its grouped GEMM kernels (the decode
  // kernels match them but for a kilobyte of shared memory); its SMs each hold the persistent GEMM 2's CTAs.
  DeviceWaves waves_;
  DeviceWaves own_tile_waves_;  // likewise, of GEMM 1's kernels that find their own tiles (gemm/grouped_gemm.h)
  PackedWeights gate_up_, down_;
  Buffer scale_2_;     // [3][experts]: gate, up, down weight_scale_2
  Buffer bad_scales_;  // [2] load-time flags from the repack kernels
  // Expert biases in FP32 (BiasLayout); unallocated, and the epilogues given null, until an expert
  // has one (store_biases).
  Buffer bias_;
  std::vector<float> host_scale_2_;
  std::vector<bool> loaded_;
  float input_scale_[2] = {0.0f, 0.0f};
};

}  // namespace
}  // namespace cuda

std::unique_ptr<MoeLayer> make_cuda_moe_layer(const MoeConfig& config, const BackendOptions& options) {
  return std::make_unique<cuda::CudaMoeLayer>(config, options);
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

}  // namespace fp4moe
