// Buffer on the CPU backend: vectors in and out (copy_of, to_vector), ranges checked, fill, moves.
// The CUDA backend's copies run in every GPU test that stages inputs through it.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/expect_error.h"
#include "fp4moe/moe/buffer.h"

namespace fp4moe {
namespace {

using testing::expect_error;

TEST(Buffer, CopyOfHoldsTheVectorAndToVectorReadsItBack) {
  const std::vector<int32_t> ids = {7, -1, 123456789, 0, 42};
  const Buffer b = Buffer::copy_of(Backend::kCpu, ids);
  EXPECT_EQ(b.size(), ids.size() * sizeof(int32_t));
  EXPECT_EQ(b.backend(), Backend::kCpu);
  EXPECT_EQ(b.to_vector<int32_t>(ids.size()), ids);
  EXPECT_EQ(b.to_vector<int32_t>(2), (std::vector<int32_t>{7, -1})) << "a prefix";
  EXPECT_EQ(b.to_vector<uint8_t>(4), (std::vector<uint8_t>{7, 0, 0, 0})) << "the bytes of the first element";
}

TEST(Buffer, AnEmptyVectorGivesAnEmptyBuffer) {
  const Buffer b = Buffer::copy_of(Backend::kCpu, std::vector<float>{});
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_TRUE(b.to_vector<float>(0).empty());
}

TEST(Buffer, ReadsPastTheEndAreRejected) {
  const Buffer b = Buffer::copy_of(Backend::kCpu, std::vector<float>{1.0f, 2.0f});
  expect_error([&] { (void)b.to_vector<float>(3); },
               "fp4moe: Buffer: offset + bytes: expected a range inside the buffer of 8 bytes, got 12");
  Buffer w(Backend::kCpu, 8);
  const std::vector<uint8_t> nine(9, 1);
  expect_error([&] { w.copy_from_host(nine.data(), 4, 5); },
               "fp4moe: Buffer: offset + bytes: expected a range inside the buffer of 8 bytes, got 9");
}

TEST(Buffer, FillSetsEveryByteAndOffsetsLandWhereAsked) {
  Buffer b(Backend::kCpu, 6);
  b.fill(0xFF);
  EXPECT_EQ(b.to_vector<uint8_t>(6), std::vector<uint8_t>(6, 0xFF));
  const uint8_t two[2] = {1, 2};
  b.copy_from_host(two, 2, 3);
  EXPECT_EQ(b.to_vector<uint8_t>(6), (std::vector<uint8_t>{0xFF, 0xFF, 0xFF, 1, 2, 0xFF}));
}

TEST(Buffer, AMoveLeavesTheSourceEmpty) {
  Buffer a = Buffer::copy_of(Backend::kCpu, std::vector<uint16_t>{1, 2, 3});
  const void* data = a.data();
  Buffer b = std::move(a);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.to_vector<uint16_t>(3), (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is what is tested
  EXPECT_EQ(a.size(), 0u);
  a = std::move(b);
  EXPECT_EQ(a.data(), data);
  EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace fp4moe
