// forward() is capturable in a CUDA graph (global capture mode rejects host syncs and other unsafe
// calls), with route_on_device before it, and the captured graph stays right when the routing and
// the inputs change between replays: nothing about a batch but its size is baked in at capture.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "chosen_kernels.h"
#include "common/compare.h"
#include "common/configs.h"
#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/run_layer.h"
#include "fp4moe/routing/routing.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

// A stream and a graph captured on it, released when it goes out of scope, also when an assertion
// ends the test early or the recording throws.
class CapturedGraph {
 public:
  CapturedGraph() = default;
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;
  ~CapturedGraph() {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (stream_ != nullptr && cudaStreamIsCapturing(stream_, &status) == cudaSuccess &&
        status != cudaStreamCaptureStatusNone) {
      cudaGraph_t abandoned = nullptr;
      if (cudaStreamEndCapture(stream_, &abandoned) == cudaSuccess && abandoned != nullptr)
        cudaGraphDestroy(abandoned);
    }
    if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
    if (graph_ != nullptr) cudaGraphDestroy(graph_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  // Captures what record(stream) enqueues in global capture mode, which fails the capture on a
  // host sync or another call unsafe in a graph. Call it under ASSERT_NO_FATAL_FAILURE.
  template <class Record>
  void capture(Record&& record) {
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
    record(stream_);
    ASSERT_EQ(cudaStreamEndCapture(stream_, &graph_), cudaSuccess);
    ASSERT_EQ(cudaGraphInstantiate(&exec_, graph_, 0), cudaSuccess);
  }

  // One replay, waited for. Call it under ASSERT_NO_FATAL_FAILURE.
  void replay() const {
    ASSERT_EQ(cudaGraphLaunch(exec_, stream_), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  }

 private:
  cudaStream_t stream_ = nullptr;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

// One forward's device buffers, kept across the replays of a graph: its routing (ids and weights
// [T, k]) and its output [T, H]; its input is a buffer of the test's (x, or the output of the forward
// before it).
class DeviceForward {
 public:
  DeviceForward(int tokens, int hidden, int top_k)
      : tokens_(tokens),
        hidden_(hidden),
        ids_(Backend::kCuda, size_t(tokens) * top_k * sizeof(int32_t)),
        weights_(Backend::kCuda, size_t(tokens) * top_k * sizeof(float)),
        out_(Backend::kCuda, size_t(tokens) * hidden * sizeof(bf16)) {}

  ForwardArgs args(const Buffer& input) const {
    return {tokens_, static_cast<const bf16*>(input.data()), static_cast<const int32_t*>(ids_.data()),
            static_cast<const float*>(weights_.data()), static_cast<bf16*>(out_.data())};
  }
  const Buffer& out() const { return out_; }

  // Before a replay: the replay's routing, and the output NaN-poisoned.
  void prepare(const testing::Routing& routing) {
    ids_.copy_from_host(routing.ids.data(), ids_.size());
    weights_.copy_from_host(routing.weights.data(), weights_.size());
    out_.fill(0xFF);
  }
  // Where a graph that routes on the device writes the routing.
  int32_t* ids() const { return static_cast<int32_t*>(ids_.data()); }
  float* weights() const { return static_cast<float*>(weights_.data()); }
  // Before a replay whose graph writes the routing itself: the routing and the output poisoned.
  void poison() {
    ids_.fill(0xFF);
    weights_.fill(0xFF);
    out_.fill(0xFF);
  }
  testing::Routing routing() const {
    const size_t slots = ids_.size() / sizeof(int32_t);
    return {tokens_, int(slots / size_t(std::max(tokens_, 1))), ids_.to_vector<int32_t>(slots),
            weights_.to_vector<float>(slots)};
  }
  std::vector<bf16> output() const { return out_.to_vector<bf16>(size_t(tokens_) * hidden_); }

 private:
  int tokens_, hidden_;
  Buffer ids_, weights_, out_;
};

TEST(GpuGraph, CapturedOnceReplayedWithNewRoutingAndInputs) {
  FP4MOE_REQUIRE_GPU();
  // 96 tokens: the general chain of kernels; 600 (2400 pairs): the same with the grid plan's two
  // launches (routing/plan.h); 4 (16 pairs): the decode kernels, whose arrival counters (and in
  // W4A4 amaxes) must start from zero again at every replay (gemm/decode_gemm.h). W4A4 with
  // calibrated scales beyond the decode kernels: GEMM 1 quantizes h, and GEMM 2 takes its tiles as
  // they finish (moe/dispatch.h).
  struct Case {
    QuantMode mode;
    int tokens;
    bool calibrated = false;
  };
  for (auto [mode, T, calibrated] : {Case{QuantMode::kW4A16, 96}, Case{QuantMode::kW4A4, 96},
                                     Case{QuantMode::kW4A4, 96, true}, Case{QuantMode::kW4A16, 600},
                                     Case{QuantMode::kW4A4, 600}, Case{QuantMode::kW4A4, 600, true},
                                     Case{QuantMode::kW4A16, 4}, Case{QuantMode::kW4A4, 4}}) {
    const MoeConfig c = testing::make_config(32, 512, 256, 4, T, Activation::kSilu, mode);
    testing::RandomExperts experts(c, 17);
    auto gpu = make_moe_layer(c, Backend::kCuda);
    auto cpu = make_moe_layer(c, Backend::kCpu);
    experts.load_into(*gpu);
    experts.load_into(*cpu);
    if (calibrated) {
      gpu->set_input_scales(6.0f / 2688.0f, 0.5f / 2688.0f);
      cpu->set_input_scales(6.0f / 2688.0f, 0.5f / 2688.0f);
    }

    Buffer x(Backend::kCuda, size_t(T) * c.hidden * sizeof(bf16));
    const Buffer ws = testing::poisoned_workspace(*gpu, T);
    DeviceForward forward(T, c.hidden, c.top_k);
    CapturedGraph graph;
    ASSERT_NO_FATAL_FAILURE(
        graph.capture([&](cudaStream_t s) { gpu->forward(forward.args(x), ws.data(), ws.size(), s); }));

    testing::Rng rng(18);
    for (int replay = 0; replay < 4; ++replay) {
      testing::Routing routing = replay % 2 ? testing::skewed_routing(T, c.num_experts, c.top_k, rng)
                                            : testing::uniform_routing(T, c.num_experts, c.top_k, rng);
      if (replay == 3) testing::drop_some(routing, c, 0.3, rng);
      const auto xs = testing::random_bf16(size_t(T) * c.hidden, rng, 1.0 + replay);
      x.copy_from_host(xs.data(), x.size());
      forward.prepare(routing);
      ASSERT_NO_FATAL_FAILURE(graph.replay());
      const double err = testing::rel_error(forward.output(), testing::run_reference(*cpu, xs, routing));
      std::printf("  graph replay %d (%s%s, T=%d): rel_error=%.3e\n", replay, to_string(mode).data(),
                  calibrated ? " calibrated" : "", T, err);
      EXPECT_LT(err, 1e-2) << "replay " << replay;
    }
  }
}

// Two forwards captured in one graph, the first's output the second's input, as consecutive layers
// chain them: the kernels that read the caller's x before waiting for the kernel before them (W4A4's
// amax and x's quantization; in W4A16 the sorted-row copy, which the wide cases take on Hopper) must
// see the first forward's output, never the NaN poison it overwrites. Each output against the
// float64 reference on its own input.
TEST(GpuGraph, ChainedForwardsReadTheOutputBeforeThem) {
  FP4MOE_REQUIRE_GPU();
  struct Case {
    QuantMode mode;
    int tokens;
    bool calibrated = false;
    bool wide = false;  // GEMM 1 with twelve 256-row blocks: the sorted-row copy (moe/dispatch.h)
  };
  for (auto [mode, T, calibrated, wide] :
       {Case{QuantMode::kW4A16, 96}, Case{QuantMode::kW4A4, 96}, Case{QuantMode::kW4A4, 96, true},
        Case{QuantMode::kW4A16, 600}, Case{QuantMode::kW4A4, 600}, Case{QuantMode::kW4A4, 600, true},
        Case{QuantMode::kW4A4, 4}, Case{QuantMode::kW4A16, 300, false, true},
        Case{QuantMode::kW4A4, 300, false, true}}) {
    const MoeConfig c = wide ? testing::make_config(12, 208, 1424, 3, T, Activation::kSilu, mode)
                             : testing::make_config(32, 512, 256, 4, T, Activation::kSilu, mode);
    testing::RandomExperts experts(c, 19);
    auto gpu = make_moe_layer(c, Backend::kCuda);
    auto cpu = make_moe_layer(c, Backend::kCpu);
    if (wide && testing::on_hopper())
      EXPECT_TRUE(testing::chosen_kernels(c, T).sorted_rows) << "the rule must apply, or this case checks nothing new";
    experts.load_into(*gpu);
    experts.load_into(*cpu);
    if (calibrated) {
      gpu->set_input_scales(6.0f / 2688.0f, 0.5f / 2688.0f);
      cpu->set_input_scales(6.0f / 2688.0f, 0.5f / 2688.0f);
    }
    const size_t rows = size_t(T) * c.hidden;
    Buffer x(Backend::kCuda, rows * sizeof(bf16));
    const Buffer ws = testing::poisoned_workspace(*gpu, T);
    DeviceForward first(T, c.hidden, c.top_k), second(T, c.hidden, c.top_k);
    CapturedGraph graph;
    ASSERT_NO_FATAL_FAILURE(graph.capture([&](cudaStream_t s) {
      gpu->forward(first.args(x), ws.data(), ws.size(), s);
      gpu->forward(second.args(first.out()), ws.data(), ws.size(), s);
    }));

    testing::Rng rng(20);
    for (int replay = 0; replay < 2; ++replay) {
      const testing::Routing r1 = testing::uniform_routing(T, c.num_experts, c.top_k, rng);
      const testing::Routing r2 = testing::skewed_routing(T, c.num_experts, c.top_k, rng);
      const auto xs = testing::random_bf16(rows, rng, 1.0 + replay);
      x.copy_from_host(xs.data(), x.size());
      first.prepare(r1);  // its output poisoned: the second forward must see what the first writes
      second.prepare(r2);
      ASSERT_NO_FATAL_FAILURE(graph.replay());
      const auto got1 = first.output(), got2 = second.output();
      const double err1 = testing::rel_error(got1, testing::run_reference(*cpu, xs, r1));
      const double err2 = testing::rel_error(got2, testing::run_reference(*cpu, got1, r2));
      std::printf("  chained replay %d (%s%s, T=%d): rel_error %.3e then %.3e\n", replay, to_string(mode).data(),
                  calibrated ? " calibrated" : "", T, err1, err2);
      EXPECT_LT(err1, 1e-2) << "first forward, replay " << replay;
      EXPECT_LT(err2, 1e-2) << "second forward, replay " << replay;
    }
  }
}

// The index of the first element whose bits differ, or -1.
int64_t first_difference(const std::vector<bf16>& a, const std::vector<bf16>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].bits != b[i].bits) return int64_t(i);
  return -1;
}

// Layers whose forwards are ordered on one stream may share one workspace (fp4moe/moe/layer.h): a
// forward leaves nothing in it for the next and assumes nothing of what it finds there. Two layers
// of one hidden size but different experts, intermediate sizes and top-k (the second with a local
// expert range), so that each puts its counters, plan and intermediates where the other's layout
// has something else; one workspace for the larger, poisoned once; three forwards in one graph as
// consecutive layers run them: A on x, B on A's output, A on B's output. Each output must equal,
// bit for bit, the same forward run alone on a fresh poisoned workspace (run_forward), and at the
// first replay be near the float64 reference. T=4: the decode kernels and their arrival counters;
// 96: the general chain; 600: the grid plan's two launches, and in the second layer (twelve 256-row
// blocks of GEMM 1) the sorted-row copy on Hopper.
TEST(GpuGraph, LayersOfDifferentShapesShareOneWorkspace) {
  FP4MOE_REQUIRE_GPU();
  for (const QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    for (const int T : {4, 96, 600}) {
      const MoeConfig ca = testing::make_config(32, 512, 256, 4, T, Activation::kSilu, mode);
      MoeConfig cb = testing::make_config(24, 512, 1424, 3, T, Activation::kSilu, mode);
      cb.local_expert_start = 8;
      cb.local_experts = 14;
      testing::RandomExperts experts_a(ca, 21), experts_b(cb, 22);
      auto gpu_a = make_moe_layer(ca, Backend::kCuda), gpu_b = make_moe_layer(cb, Backend::kCuda);
      auto cpu_a = make_moe_layer(ca, Backend::kCpu), cpu_b = make_moe_layer(cb, Backend::kCpu);
      experts_a.load_into(*gpu_a);
      experts_a.load_into(*cpu_a);
      experts_b.load_into(*gpu_b);
      experts_b.load_into(*cpu_b);

      const size_t rows = size_t(T) * ca.hidden;
      Buffer x(Backend::kCuda, rows * sizeof(bf16)),
          ws(Backend::kCuda, std::max(gpu_a->workspace_bytes(T), gpu_b->workspace_bytes(T)));
      ws.fill(0xFF);
      DeviceForward first(T, ca.hidden, ca.top_k), second(T, cb.hidden, cb.top_k), third(T, ca.hidden, ca.top_k);
      CapturedGraph graph;
      ASSERT_NO_FATAL_FAILURE(graph.capture([&](cudaStream_t s) {
        gpu_a->forward(first.args(x), ws.data(), ws.size(), s);
        gpu_b->forward(second.args(first.out()), ws.data(), ws.size(), s);
        gpu_a->forward(third.args(second.out()), ws.data(), ws.size(), s);
      }));

      testing::Rng rng(23);
      for (int replay = 0; replay < 2; ++replay) {
        const testing::Routing ra = testing::uniform_routing(T, ca.num_experts, ca.top_k, rng);
        const testing::Routing rb = testing::skewed_routing(T, cb.num_experts, cb.top_k, rng);
        const auto xs = testing::random_bf16(rows, rng, 1.0 + replay);
        x.copy_from_host(xs.data(), x.size());
        first.prepare(ra);
        second.prepare(rb);
        third.prepare(ra);
        ASSERT_NO_FATAL_FAILURE(graph.replay());
        const auto got1 = first.output(), got2 = second.output(), got3 = third.output();
        EXPECT_EQ(first_difference(got1, testing::run_forward(*gpu_a, xs, ra)), -1) << "layer A, replay " << replay;
        EXPECT_EQ(first_difference(got2, testing::run_forward(*gpu_b, got1, rb)), -1) << "layer B, replay " << replay;
        EXPECT_EQ(first_difference(got3, testing::run_forward(*gpu_a, got2, ra)), -1)
            << "layer A again, replay " << replay;
        if (replay > 0) continue;  // the float64 reference once per case: B's takes seconds at 600 tokens
        const double err1 = testing::rel_error(got1, testing::run_reference(*cpu_a, xs, ra));
        const double err2 = testing::rel_error(got2, testing::run_reference(*cpu_b, got1, rb));
        const double err3 = testing::rel_error(got3, testing::run_reference(*cpu_a, got2, ra));
        std::printf("  shared workspace (%s, T=%d): rel_error %.3e, %.3e, %.3e\n", to_string(mode).data(), T, err1,
                    err2, err3);
        EXPECT_LT(err1, 1e-2) << "layer A";
        EXPECT_LT(err2, 1e-2) << "layer B";
        EXPECT_LT(err3, 1e-2) << "layer A again";
      }
    }
  }
}

// The routing on the device (route_on_device) and the forward it feeds captured in one graph, as an
// engine captures a decode step: each replay routes new logits. The ids the graph wrote are the
// host's route() of those logits, and the output is the float64 reference's for the routing the
// graph wrote (its weights may differ from the host's by ulps). DeepSeek-V3's grouped routing at 2
// tokens (the decode kernels) and 96 (the general chain), and at 8 tokens of a wide layer whose GEMM 1
// finds its own tiles (moe/dispatch.h), in both modes: the kernels that read the ids before their
// wait (GEMM 2, W4A4's decode GEMM 1, GEMM 1's own tiles) must see the router's.
TEST(GpuGraph, RoutingOnTheDeviceFeedsTheForward) {
  FP4MOE_REQUIRE_GPU();
  struct Case {
    QuantMode mode;
    int tokens;
    bool own_tiles = false;  // 128 experts, 3536 / 208, top-8 (gemm1_finds_own_tiles on Hopper)
  };
  for (auto [mode, T, own_tiles] :
       {Case{QuantMode::kW4A16, 2}, Case{QuantMode::kW4A4, 2}, Case{QuantMode::kW4A16, 96}, Case{QuantMode::kW4A4, 96},
        Case{QuantMode::kW4A16, 8, true}, Case{QuantMode::kW4A4, 8, true}}) {
    const MoeConfig c = own_tiles ? testing::make_config(128, 3536, 208, 8, T, Activation::kSilu, mode)
                                  : testing::make_config(32, 512, 256, 4, T, Activation::kSilu, mode);
    if (own_tiles && testing::on_hopper())
      EXPECT_TRUE(testing::chosen_kernels(c, T).own_tiles) << "the rule must apply, or this case checks nothing new";
    testing::RandomExperts experts(c, 21);
    auto gpu = make_moe_layer(c, Backend::kCuda);
    auto cpu = make_moe_layer(c, Backend::kCpu);
    experts.load_into(*gpu);
    experts.load_into(*cpu);
    RoutingParams params;
    params.method = RoutingMethod::kSigmoidGroupedTopk;
    params.top_k = c.top_k;
    params.num_groups = 8;
    params.topk_group = 3;
    params.routed_scaling_factor = 2.5f;

    const size_t rows = size_t(T) * c.hidden, scores = size_t(T) * c.num_experts;
    Buffer x(Backend::kCuda, rows * sizeof(bf16)), logits(Backend::kCuda, scores * sizeof(float));
    const Buffer ws = testing::poisoned_workspace(*gpu, T);
    DeviceForward forward(T, c.hidden, c.top_k);
    CapturedGraph graph;
    ASSERT_NO_FATAL_FAILURE(graph.capture([&](cudaStream_t s) {
      route_on_device(static_cast<const float*>(logits.data()), T, c.num_experts, params, forward.ids(),
                      forward.weights(), s);
      gpu->forward(forward.args(x), ws.data(), ws.size(), s);
    }));

    testing::Rng rng(22);
    for (int replay = 0; replay < 2; ++replay) {
      std::vector<float> host_logits(scores);
      for (float& l : host_logits) l = float(rng.normal() * 2);
      logits.copy_from_host(host_logits.data(), logits.size());
      const auto xs = testing::random_bf16(rows, rng, 1.0 + replay);
      x.copy_from_host(xs.data(), x.size());
      forward.poison();
      ASSERT_NO_FATAL_FAILURE(graph.replay());
      std::vector<int32_t> want_ids(size_t(T) * c.top_k);
      std::vector<float> want_weights(want_ids.size());
      route(host_logits.data(), T, c.num_experts, params, want_ids.data(), want_weights.data());
      const testing::Routing routed = forward.routing();
      EXPECT_EQ(routed.ids, want_ids) << "replay " << replay;
      for (size_t i = 0; i < want_weights.size(); ++i)
        EXPECT_NEAR(routed.weights[i], want_weights[i], 4e-7 * want_weights[i]) << "replay " << replay << " slot " << i;
      const double err = testing::rel_error(forward.output(), testing::run_reference(*cpu, xs, routed));
      std::printf("  routed on the device, replay %d (%s, T=%d): rel_error=%.3e\n", replay, to_string(mode).data(), T,
                  err);
      EXPECT_LT(err, 1e-2) << "replay " << replay;
    }
  }
}

}  // namespace
}  // namespace fp4moe
