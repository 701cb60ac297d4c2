// Calibration amaxes for `fp4moe quantize --calib`. Sums in double so the amax does not depend on
// the thread split; threads over tokens.
#include "checkpoint/calibration.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/activation.h"
#include "util/parallel.h"

namespace fp4moe {

CalibrationSample read_calibration(const std::string& path, const std::string& tensor, int hidden) {
  const SafetensorsFile file(path);
  const auto& tensors = file.header().tensors;
  require(!tensor.empty() || tensors.size() == 1, "calibration " + path, "tensor",
          "one tensor in the file, or --calib-tensor NAME", std::to_string(tensors.size()) + " tensors");
  const TensorView view = tensor.empty() ? file.tensor(tensors.front()) : file.tensor(tensor);
  const auto& shape = view.info->shape;
  require(shape.size() == 2 && shape[1] == hidden && shape[0] > 0, "calibration " + path,
          "tensor '" + view.info->name + "'", "activations [T, " + std::to_string(hidden) + "]",
          view.info->shape_string());
  CalibrationSample s;
  s.x = read_float_tensor(view);
  s.tokens = shape[0];
  s.hidden = hidden;
  s.x_amax = amax(s.x.data(), int64_t(s.x.size()));
  require(std::isfinite(s.x_amax), "calibration " + path, "tensor '" + view.info->name + "'", "finite activations",
          "NaN or Inf");
  return s;
}

float intermediate_amax(const CalibrationSample& sample, const float* gate, const float* up, int intermediate,
                        const ActivationSpec& activation, const float* gate_bias, const float* up_bias) {
  float result = 0.0f;
  std::mutex mutex;
  parallel_for(sample.tokens, 0, [&](int64_t begin, int64_t end) {
    float local = 0.0f;
    for (int64_t t = begin; t < end; ++t) {
      const float* x = sample.x.data() + t * sample.hidden;
      for (int i = 0; i < intermediate; ++i) {
        double g = gate_bias ? gate_bias[i] : 0.0, u = up_bias ? up_bias[i] : 0.0;
        for (int k = 0; k < sample.hidden; ++k) {
          g += double(gate[int64_t(i) * sample.hidden + k]) * x[k];
          u += double(up[int64_t(i) * sample.hidden + k]) * x[k];
        }
        local = nan_max(local, float(std::fabs(apply_activation(activation, g, u))));
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    result = nan_max(result, local);
  });
  return result;
}

}  // namespace fp4moe
