// One MoE layer through fp4moe's C++ API, as an inference engine would drive it: BF16 expert weights
// quantized to NVFP4 (the ModelOpt recipe, as a checkpoint would hold them), loaded into a layer on
// the GPU when there is one (else the CPU), router logits turned into top-k ids and weights, and a
// forward on a preallocated workspace; on the GPU also the same forward captured once in a CUDA graph
// on a stream of the engine's and replayed (it allocates nothing and never syncs with the host, so it
// captures), which must give the same bits. The output is checked against the float64 reference of
// the same quantized weights. Exits 0 when the error is within the spec's bound.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <random>
#include <vector>

#include "fp4moe/fp4moe.h"

#if FP4MOE_WITH_CUDA  // defined by the fp4moe::fp4moe target: 1 where the library has its CUDA backend
#include <cuda_runtime.h>
#endif

namespace {

std::vector<float> gaussian(size_t n, double stddev, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = float(normal(rng));
  return v;
}

fp4moe::Nvfp4WeightView view_of(const fp4moe::QuantizedWeight& w) {
  return {w.packed.data(), w.scales.data(), fp4moe::ScaleLayout::kLinear, w.scale_2};
}

#if FP4MOE_WITH_CUDA
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw fp4moe::Error(std::string(what) + ": " + cudaGetErrorString(status));
}

// The forward captured in a CUDA graph on a stream of the caller's, replayed twice; args.out then holds
// the replay's output. Returns it, copied to the host.
std::vector<fp4moe::bf16> graph_replay(fp4moe::MoeLayer& layer, const fp4moe::ForwardArgs& args,
                                       fp4moe::Buffer& workspace, fp4moe::Buffer& out, size_t elements) {
  cudaStream_t stream = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  layer.forward(args, workspace.data(), workspace.size(), stream);
  check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  out.fill(0xFF);  // NaN: the replay must write every element again
  for (int replay = 0; replay < 2; ++replay) check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  check(cudaGraphExecDestroy(exec), "cudaGraphExecDestroy");
  check(cudaGraphDestroy(graph), "cudaGraphDestroy");
  check(cudaStreamDestroy(stream), "cudaStreamDestroy");
  return out.to_vector<fp4moe::bf16>(elements);
}
#endif

}  // namespace

int main() {
  fp4moe::MoeConfig config;
  config.num_experts = 8;
  config.hidden = 256;
  config.intermediate = 512;
  config.top_k = 2;
  config.max_tokens = 32;
  const int tokens = 32, H = config.hidden, I = config.intermediate;

  try {
    const fp4moe::Backend backend =
        fp4moe::cuda_backend_available() ? fp4moe::Backend::kCuda : fp4moe::Backend::kCpu;
    auto layer = fp4moe::make_moe_layer(config, backend);
    // The float64 reference runs on a CPU layer holding the same weights.
    auto cpu = fp4moe::make_moe_layer(config, fp4moe::Backend::kCpu);

    std::mt19937_64 rng(1);
    for (int e = 0; e < config.num_experts; ++e) {
      const fp4moe::QuantizedWeight gate = fp4moe::quantize_weight(gaussian(size_t(I) * H, 0.06, rng).data(), I, H);
      const fp4moe::QuantizedWeight up = fp4moe::quantize_weight(gaussian(size_t(I) * H, 0.06, rng).data(), I, H);
      const fp4moe::QuantizedWeight down = fp4moe::quantize_weight(gaussian(size_t(H) * I, 0.04, rng).data(), H, I);
      const fp4moe::ExpertWeightsView w{view_of(gate), view_of(up), view_of(down)};
      layer->load_expert(e, w);  // copied (and repacked) here: the quantized vectors may go
      cpu->load_expert(e, w);
    }

    std::vector<fp4moe::bf16> x(size_t(tokens) * H);
    const std::vector<float> xf = gaussian(x.size(), 1.0, rng);
    for (size_t i = 0; i < x.size(); ++i) x[i] = fp4moe::float_to_bf16(xf[i]);
    const std::vector<float> logits = gaussian(size_t(tokens) * config.num_experts, 1.0, rng);
    fp4moe::RoutingParams routing;
    routing.top_k = config.top_k;
    routing.renormalize = true;
    std::vector<int32_t> ids(size_t(tokens) * config.top_k);
    std::vector<float> weights(ids.size());
    fp4moe::route(logits.data(), tokens, config.num_experts, routing, ids.data(), weights.data());

    // Inputs, output and workspace in the layer's memory (device memory on the GPU).
    const fp4moe::Buffer d_x = fp4moe::Buffer::copy_of(backend, x), d_ids = fp4moe::Buffer::copy_of(backend, ids),
                         d_weights = fp4moe::Buffer::copy_of(backend, weights);
    fp4moe::Buffer d_out(backend, x.size() * sizeof(fp4moe::bf16));
    fp4moe::Buffer workspace(backend, layer->workspace_bytes(config.max_tokens));
    fp4moe::ForwardArgs args;
    args.num_tokens = tokens;
    args.x = static_cast<const fp4moe::bf16*>(d_x.data());
    args.topk_ids = static_cast<const int32_t*>(d_ids.data());
    args.topk_weights = static_cast<const float*>(d_weights.data());
    args.out = static_cast<fp4moe::bf16*>(d_out.data());
    layer->forward(args, workspace.data(), workspace.size(), /*stream=*/nullptr);
    const std::vector<fp4moe::bf16> out = d_out.to_vector<fp4moe::bf16>(x.size());  // waits for the forward

    std::vector<double> ref(x.size());
    const fp4moe::ForwardArgs host{tokens, x.data(), ids.data(), weights.data(), nullptr};
    fp4moe::reference_forward_f64(*cpu, host, ref.data());
    double diff = 0, norm = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double d = double(fp4moe::bf16_to_float(out[i])) - ref[i];
      diff += d * d;
      norm += ref[i] * ref[i];
    }
    const double error = std::sqrt(diff / norm);
    std::printf("fp4moe example: %s backend, %d tokens, rel error vs float64 reference %.3e\n",
                backend == fp4moe::Backend::kCuda ? "CUDA" : "CPU", tokens, error);
    bool same_bits = true;
#if FP4MOE_WITH_CUDA
    if (backend == fp4moe::Backend::kCuda) {
      const std::vector<fp4moe::bf16> replayed = graph_replay(*layer, args, workspace, d_out, x.size());
      same_bits = std::memcmp(replayed.data(), out.data(), out.size() * sizeof(fp4moe::bf16)) == 0;
      std::printf("fp4moe example: CUDA graph replay %s the direct forward\n", same_bits ? "equals" : "DIFFERS FROM");
    }
#endif
    return error < 1e-2 && same_bits ? 0 : 1;  // NaN fails too
  } catch (const fp4moe::Error& e) {
    std::fprintf(stderr, "fp4moe example: %s\n", e.what());
    return 2;
  }
}
