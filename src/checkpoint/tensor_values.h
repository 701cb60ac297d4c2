// Reading BF16/F16/F32 tensor elements as float, whatever the file's alignment. Internal.
#pragma once
#include <cstdint>
#include <vector>

#include "fp4moe/checkpoint/safetensors.h"

namespace fp4moe {

// Elements [first, first + count) of `view` (BF16, F16 or F32) as float; throws naming the tensor
// for any other dtype.
std::vector<float> read_float_range(const TensorView& view, int64_t first, int64_t count);

bool is_float_dtype(DType dtype);  // BF16, F16 or F32

}  // namespace fp4moe
