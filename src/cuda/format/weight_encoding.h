// The load-time encodings of NVFP4 weights in the private layout, chosen so that the GEMMs turn
// them into BF16 MMA operands with two or three integer ops per register (format/dequant.cuh).
// Host and device: the repack kernel encodes, the tests check every value.
//
// Codes. One 32-bit word carries one lane's A fragment of one m16n8k16 step: four registers, each
// two E2M1 codes (the consecutive-K pair). A BF16x2 register wants code magnitudes at bits
// [8:6] and [24:22] and signs at 15 and 31 (code c then reads as c * 2^-126; see dequant.cuh),
// the bits of kRegisterMask. Registers 0, 1, 2 are stored at that pattern rotated right by
// register_rotation(r) = 0, 6, 12, so they decode with one mask and at most one shift or rotate.
// Register 3 takes the 8 bits left over, {4,5,13,14,20,21,29,30}: {4,5,13,20,21,29} two bits
// below {6,7,15,22,23,31} and {14,30} six above {8,24}, so it decodes with two shifts, a mask
// and an and-or. That is 9 integer ops per word, the fewest with one mask per source: four
// shifted copies of {6,7,8,15} never tile a 16-bit half, so one register needs two sources.
//
// Scales. A non-zero E4M3 value is 2^E * (1 + f/8) with E in [-9, 8] (subnormals normalised),
// stored as ((E + 9) << 3) | f; zero is 0. Decoded BF16 bits are (byte << 4) + kScaleBiasBits,
// i.e. s * 2^115 (a zero byte decodes to a finite 2^106, harmless: the repack zeroes the codes
// of every block whose scale is zero, so the products are zero as they must be).
#pragma once
#include <cstdint>

#include "fp4moe/format/hd.h"

namespace fp4moe::cuda {

inline constexpr uint32_t kRegisterMask = 0x81C081C0u;
FP4MOE_HD constexpr int register_rotation(int reg) { return reg == 0 ? 0 : reg == 1 ? 6 : 12; }  // registers 0, 1, 2
inline constexpr uint32_t kScaleBiasBits = 233u << 7;  // BF16 exponent 242 - 9: s * 2^115

// Register 3: bits {4,5,13,20,21,29} move up two to kReg3UpMask, {14,30} down six to kReg3DownMask.
inline constexpr uint32_t kReg3UpMask = 0x80C080C0u, kReg3DownMask = 0x01000100u;

FP4MOE_HD constexpr uint32_t rotate_right(uint32_t x, int s) { return s == 0 ? x : (x >> s) | (x << (32 - s)); }

// The 8 register bits (kRegisterMask layout) of one checkpoint byte: low nibble -> element 0.
FP4MOE_HD uint32_t register_bits_of_byte(uint8_t byte) {
  const uint32_t lo = byte & 0xFu, hi = byte >> 4;
  return ((lo & 7u) << 6) | ((lo & 8u) << 12) | ((hi & 7u) << 22) | ((hi & 8u) << 28);
}

// Four checkpoint bytes (registers 0..3 of one step) -> the encoded word.
FP4MOE_HD uint32_t encode_step_word(const uint8_t (&bytes)[4]) {
  uint32_t word = 0;
  for (int r = 0; r < 3; ++r) word |= rotate_right(register_bits_of_byte(bytes[r]), register_rotation(r));
  const uint32_t r3 = register_bits_of_byte(bytes[3]);
  word |= (r3 & kReg3UpMask) >> 2 | (r3 & kReg3DownMask) << 6;
  return word;
}

// A valid E4M3 scale byte (finite, >= 0) -> its stored byte.
FP4MOE_HD uint8_t encode_scale(uint8_t e4m3) {
  if (e4m3 == 0) return 0;
  int exp = e4m3 >> 3, frac = e4m3 & 7;
  if (exp == 0) {  // subnormal frac * 2^-9: shift the leading one into the implicit bit
    exp = 1;
    while (!(frac & 8)) {
      frac <<= 1;
      --exp;
    }
    frac &= 7;
  }
  return uint8_t(((exp - 7 + 9) << 3) | frac);  // E = exp - 7
}

}  // namespace fp4moe::cuda
