// fp4moe: Mixture-of-Experts layers with NVFP4 weights. The whole public API.
#pragma once
#include "fp4moe/error.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/format/scale_layout.h"
#include "fp4moe/moe/activation.h"
#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/config.h"
#include "fp4moe/moe/layer.h"
#include "fp4moe/moe/reference.h"
#include "fp4moe/moe/tensor_parallel.h"
#include "fp4moe/routing/routing.h"
