// Activation calibration for the checkpoint quantizer: the amax of a sample of layer inputs and
// of the intermediate act(gate x + b, up x + b) they produce in one expert. Internal.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fp4moe/moe/config.h"

namespace fp4moe {

struct CalibrationSample {
  std::vector<float> x;  // [tokens, hidden]
  int64_t tokens = 0;
  int hidden = 0;
  float x_amax = 0.0f;
};

// Reads [T, hidden] activations from a safetensors file: `tensor`, or its only tensor when empty.
CalibrationSample read_calibration(const std::string& path, const std::string& tensor, int hidden);

// max |act(gate x_t + gate_bias, up x_t + up_bias)| over the tokens, with gate and up
// [intermediate, hidden] row-major and the biases [intermediate] (null: none).
float intermediate_amax(const CalibrationSample& sample, const float* gate, const float* up, int intermediate,
                        const ActivationSpec& activation, const float* gate_bias = nullptr,
                        const float* up_bias = nullptr);

}  // namespace fp4moe
