// MXFP4 (the OCP Microscaling format's FP4), the format gpt-oss's checkpoints store their experts in,
// and its conversion to NVFP4. An MXFP4 matrix [rows, cols] holds the same E2M1 codes, packed as NVFP4's
// (element 2i in the low nibble), with one E8M0 scale per 32 elements along K: the value 2^(s - 127),
// s = 255 being NaN. So x = e2m1(q) * 2^(s - 127).
//
// Both formats scale E2M1 codes by powers of two where MXFP4 does, so a matrix converts to NVFP4 without
// rounding wherever its blocks' exponents lie within the 18 octaves E4M3 holds powers of two in (2^-9 ..
// 2^8): weight_scale_2 = 2^(kmax - 8) for the largest exponent kmax of a block with a non-zero code, and
// each 16-element half of a 32-element block gets the E4M3 scale 2^(k - kmax + 8) and its codes as they
// are. A block more than 17 octaves below the largest cannot be represented so; it is quantized from its
// values (spec section 2's block quantizer at the global scale 1 / weight_scale_2), and counted.
#pragma once
#include <cstdint>

#include "fp4moe/format/quantize.h"

namespace fp4moe {

inline constexpr int kMxfp4BlockSize = 32;      // elements per E8M0 scale, along K
inline constexpr uint8_t kE8M0NaN = 0xFF;

// 2^(s - 127), exact in float (2^-127 is a float subnormal); NaN for 255.
float e8m0_to_float(uint8_t s);

// out [rows, cols] = e2m1(q) * 2^(s - 127) (cols a multiple of 32).
void dequantize_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, float* out);

struct Nvfp4FromMxfp4 {
  QuantizedWeight weight;      // packed [rows, cols/2], linear scales [rows, cols/16], scale_2
  int64_t inexact_blocks = 0;  // 16-element blocks quantized from their values: out of the exponents' reach
};

// The NVFP4 form of an MXFP4 matrix (see above): dequantize_nvfp4 of the result equals dequantize_mxfp4
// of the source bit for bit in every block not counted in inexact_blocks. A scale of 255 (NaN) is
// rejected, naming its [row, block].
Nvfp4FromMxfp4 nvfp4_from_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols);

}  // namespace fp4moe
