// safetensors reader/writer: round trip, views into the mapping (no copy), sharded checkpoints,
// and every hostile-file case, each with the message it must give.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "checkpoint/checkpoint_files.h"
#include "common/expect_error.h"
#include "common/rng.h"
#include "fp4moe/checkpoint/safetensors.h"

namespace fp4moe {
namespace {

using testing::expect_error;
using testing::safetensors_image;
using testing::TempDir;
using testing::write_file;

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  testing::Rng rng(seed);
  std::vector<uint8_t> v(n);
  rng.fill_bytes(v.data(), n);
  return v;
}

TEST(Safetensors, RoundTripKeepsDtypesShapesBytesAndMetadata) {
  TempDir dir;
  const auto u8 = random_bytes(6 * 8, 1), e4m3 = random_bytes(6, 2), bf16 = random_bytes(3 * 5 * 2, 3);
  const float scalar = 0.0123f;
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("a.weight", DType::kU8, {6, 8}, u8.data(), u8.size());
  w.add("a.weight_scale", DType::kF8E4M3, {6, 1}, e4m3.data(), e4m3.size());
  w.add("b", DType::kBF16, {3, 5}, bf16.data(), bf16.size());
  w.add("a.weight_scale_2", DType::kF32, {}, &scalar, 4);
  w.add("empty", DType::kF32, {0, 4}, nullptr, 0);
  w.write(dir.file("x.safetensors"));

  const SafetensorsFile f(dir.file("x.safetensors"));
  EXPECT_EQ(f.header().metadata.at("format"), "pt");
  EXPECT_EQ(f.header().data_offset % 8, 0u) << "header padded to 8 bytes like the Python writer";
  ASSERT_EQ(f.header().tensors.size(), 5u);
  const TensorView a = f.tensor("a.weight");
  EXPECT_EQ(a.info->dtype, DType::kU8);
  EXPECT_EQ(a.info->shape, (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(std::memcmp(a.data, u8.data(), u8.size()), 0);
  EXPECT_EQ(std::memcmp(f.tensor("a.weight_scale").data, e4m3.data(), e4m3.size()), 0);
  EXPECT_EQ(f.tensor("a.weight_scale").info->dtype, DType::kF8E4M3);
  EXPECT_EQ(std::memcmp(f.tensor("b").data, bf16.data(), bf16.size()), 0);
  float back;
  std::memcpy(&back, f.tensor("a.weight_scale_2").data, 4);
  EXPECT_EQ(back, scalar);
  EXPECT_TRUE(f.tensor("a.weight_scale_2").info->shape.empty());
  EXPECT_EQ(f.tensor("empty").info->numel(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors.tmp")));
}

TEST(Safetensors, ViewsPointIntoTheMappingWithoutCopy) {
  TempDir dir;
  const auto data = random_bytes(4096, 4);
  SafetensorsWriter w;
  w.add("t", DType::kU8, {4096}, data.data(), data.size());
  w.write(dir.file("x.safetensors"));
  const SafetensorsFile f(dir.file("x.safetensors"));
  const TensorView v = f.tensor("t");
  EXPECT_GE(v.data, f.mapping());
  EXPECT_LE(v.data + v.info->bytes(), f.mapping() + f.mapping_size());
  EXPECT_EQ(v.data, f.mapping() + f.header().data_offset + v.info->begin);
  EXPECT_EQ(*v.file, dir.file("x.safetensors"));
}

TEST(Safetensors, WriterRejectsWrongByteCountsAndDuplicates) {
  SafetensorsWriter w;
  const uint8_t bytes[8] = {};
  expect_error([&] { w.add("t", DType::kF32, {3}, bytes, 8); },
               "fp4moe: SafetensorsWriter: tensor 't' bytes: expected 12 for F32 [3], got 8");
  w.add("t", DType::kU8, {8}, bytes, 8);
  expect_error([&] { w.add("t", DType::kU8, {8}, bytes, 8); }, "tensor 't': expected a name not added before");
}

void write_shard(const std::string& path, const std::vector<std::pair<std::string, float>>& tensors) {
  SafetensorsWriter w;
  for (const auto& [name, value] : tensors) {
    std::vector<uint8_t> b(4);
    std::memcpy(b.data(), &value, 4);
    w.add_owned(name, DType::kF32, {1}, b);
  }
  w.write(path);
}

float scalar(const TensorView& v) {
  float f;
  std::memcpy(&f, v.data, 4);
  return f;
}

TEST(SafetensorsCheckpoint, ShardedIndexFindsEveryTensorInItsShard) {
  TempDir dir;
  write_shard(dir.file("model-00001-of-00002.safetensors"), {{"a", 1.0f}, {"b", 2.0f}, {"unlisted", 9.0f}});
  write_shard(dir.file("model-00002-of-00002.safetensors"), {{"c", 3.0f}});
  testing::write_json(dir.file("model.safetensors.index.json"), {{"metadata", {{"total_size", 12}}},
                                                                 {"weight_map",
                                                                  {{"a", "model-00001-of-00002.safetensors"},
                                                                   {"b", "model-00001-of-00002.safetensors"},
                                                                   {"c", "model-00002-of-00002.safetensors"}}}});
  const SafetensorsCheckpoint ckpt(dir.path());
  EXPECT_TRUE(ckpt.sharded());
  EXPECT_EQ(ckpt.files().size(), 2u);
  EXPECT_EQ(ckpt.tensor_names(), (std::vector<std::string>{"a", "b", "c"})) << "only what the index lists";
  EXPECT_EQ(scalar(ckpt.tensor("a")), 1.0f);
  EXPECT_EQ(scalar(ckpt.tensor("c")), 3.0f);
  EXPECT_EQ(ckpt.file_of("c").path(), dir.file("model-00002-of-00002.safetensors"));
  expect_error([&] { ckpt.tensor("unlisted"); },
               "fp4moe: checkpoint " + dir.path() + ": tensor 'unlisted': expected present, got missing");
}

TEST(SafetensorsCheckpoint, IndexNamingAMissingTensorOrAnOutsideFileIsRejected) {
  TempDir dir;
  write_shard(dir.file("s1.safetensors"), {{"a", 1.0f}});
  testing::write_json(dir.file("model.safetensors.index.json"),
                      {{"weight_map", {{"a", "s1.safetensors"}, {"ghost", "s1.safetensors"}}}});
  expect_error([&] { SafetensorsCheckpoint c(dir.path()); },
               "fp4moe: safetensors " + dir.file("s1.safetensors") +
                   ": tensor 'ghost': expected present (listed for this shard in " +
                   dir.file("model.safetensors.index.json") + "), got missing");
  testing::write_json(dir.file("model.safetensors.index.json"), {{"weight_map", {{"a", "../s1.safetensors"}}}});
  expect_error([&] { SafetensorsCheckpoint c(dir.path()); },
               "weight_map['a']: expected a file name in the checkpoint directory, got \"../s1.safetensors\"");
  testing::write_json(dir.file("model.safetensors.index.json"), {{"weight_map", {{"a", "nope.safetensors"}}}});
  expect_error([&] { SafetensorsCheckpoint c(dir.path()); }, "nope.safetensors: expected a readable file");
}

TEST(SafetensorsCheckpoint, UnindexedFilesMustNotShareTensorNames) {
  TempDir dir;
  write_shard(dir.file("a.safetensors"), {{"x", 1.0f}});
  write_shard(dir.file("b.safetensors"), {{"x", 2.0f}});
  expect_error([&] { SafetensorsCheckpoint c(dir.path()); }, "tensor 'x': expected in one file only");
}

// ---- hostile files: each one a clear Error naming the file (and the tensor), never a crash ----

class HostileSafetensors : public ::testing::Test {
 protected:
  void expect_rejected(const std::string& image, const std::string& message) {
    write_file(path_, image);
    expect_error([&] { SafetensorsFile f(path_); }, "fp4moe: safetensors " + path_ + ": " + message);
    // The parser on the same bytes in memory says the same (the fuzz target's entry point).
    expect_error([&] { parse_safetensors(reinterpret_cast<const uint8_t*>(image.data()), image.size(), path_); },
                 message);
  }
  static std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                           const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  }
  // A file of one tensor 'w' and the data section `data`.
  static std::string one_tensor(const std::string& dtype, const std::string& shape, const std::string& offsets,
                                const std::string& data) {
    return safetensors_image("{" + entry("w", dtype, shape, offsets) + "}", data);
  }
  TempDir dir_;
  std::string path_ = dir_.file("bad.safetensors");
};

TEST_F(HostileSafetensors, TruncatedAndEmptyFiles) {
  expect_rejected("", "file size: expected at least the 8-byte header length, got 0 bytes");
  expect_rejected(std::string("\x10\x00\x00", 3), "file size: expected at least the 8-byte header length, got 3 bytes");
  const std::string good = safetensors_image("{" + entry("t", "F32", "[4]", "[0,16]") + "}", std::string(16, 'x'));
  expect_rejected(good.substr(0, 20), "header length: expected at most the 12 bytes after it (truncated file?)");
  expect_rejected(good.substr(0, good.size() - 4),
                  "tensor 't' data_offsets: expected a range inside the data section of 12 bytes, got [0,16]");
}

TEST_F(HostileSafetensors, HugeHeaderLength) {
  std::string image(8, '\xFF');
  image += "{}";
  expect_rejected(image, "header length: expected at most 100000000 bytes, got 18446744073709551615");
  std::string big(8, '\0');
  const uint64_t len = kMaxSafetensorsHeaderBytes + 1;
  for (int i = 0; i < 8; ++i) big[size_t(i)] = char((len >> (8 * i)) & 0xFF);
  expect_rejected(big + "{}", "header length: expected at most 100000000 bytes, got 100000001");
}

TEST_F(HostileSafetensors, BadJson) {
  expect_rejected(safetensors_image("{\"t\":", ""),
                  "header: expected well-formed JSON, got [json.exception.parse_error");
  expect_rejected(safetensors_image("[1,2]", ""), "header: expected a JSON object, got array");
  expect_rejected(safetensors_image("{\"a\":{\"b\":{\"c\":[1]}}}", ""),
                  "header: expected JSON nested at most 3 levels deep, got deeper nesting");
  expect_rejected(
      safetensors_image("{" + entry("t", "U8", "[1]", "[0,1]") + "," + entry("t", "U8", "[1]", "[1,2]") + "}", "ab"),
      "header key 't': expected unique keys, got a duplicate");
  expect_rejected(safetensors_image("{\"__metadata__\":{\"k\":1}}", ""), "__metadata__ 'k': expected a string, got 1");
}

TEST_F(HostileSafetensors, WrongDtypesAndShapes) {
  expect_rejected(one_tensor("Q4", "[2]", "[0,2]", "ab"),
                  "tensor 'w' dtype: expected a safetensors dtype (U8, F8_E4M3, BF16, F32, ...), got \"Q4\"");
  expect_rejected(one_tensor("U8", "[-2]", "[0,2]", "ab"),
                  "tensor 'w' shape: expected an array of non-negative integers, got [-2]");
  expect_rejected(one_tensor("U8", "[2.5]", "[0,2]", "ab"),
                  "tensor 'w' shape: expected an array of non-negative integers, got [2.5]");
  expect_rejected(one_tensor("U8", "[4294967296,4294967296]", "[0,2]", "ab"),
                  "tensor 'w' shape: expected an element count that fits in 64 bits, got [4294967296, 4294967296]");
  expect_rejected(one_tensor("F32", "[3]", "[0,8]", std::string(8, 'x')),
                  "tensor 'w' data_offsets: expected 12 bytes for F32 [3], got 8 bytes");
  expect_rejected(one_tensor("F4", "[3]", "[0,2]", "ab"),
                  "tensor 'w' shape: expected a whole number of bytes for dtype F4, got [3]");
  expect_rejected(safetensors_image("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", "a"),
                  "tensor 'w': expected all of dtype, shape and data_offsets");
  expect_rejected(safetensors_image("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", "a"),
                  "tensor 'w' key 'x': expected only dtype, shape and data_offsets, got an unknown key");
}

TEST_F(HostileSafetensors, BadOffsets) {
  expect_rejected(one_tensor("U8", "[2]", "[2,0]", "ab"),
                  "tensor 'w' data_offsets: expected begin <= end, got [2,0]");
  expect_rejected(one_tensor("U8", "[2]", "[0]", "ab"),
                  "tensor 'w' data_offsets: expected [begin, end] non-negative integers, got [0]");
  expect_rejected(one_tensor("U8", "[2]", "[18446744073709551615,1]", "ab"),
                  "tensor 'w' data_offsets: expected begin <= end");
  expect_rejected(one_tensor("U8", "[4]", "[100,104]", "abcd"),
                  "tensor 'w' data_offsets: expected a range inside the data section of 4 bytes, got [100,104]");
  expect_rejected(safetensors_image(
                      "{" + entry("a", "U8", "[4]", "[0,4]") + "," + entry("b", "U8", "[4]", "[2,6]") + "}", "abcdef"),
                  "tensor 'b' data_offsets: expected no overlap with another tensor, got an overlap with 'a'");
}

TEST_F(HostileSafetensors, MissingTensorNamesTheFile) {
  write_file(path_, one_tensor("U8", "[2]", "[0,2]", "ab"));
  const SafetensorsFile f(path_);
  expect_error([&] { f.tensor("v"); }, "fp4moe: safetensors " + path_ + ": tensor 'v': expected present, got missing");
}

TEST(Safetensors, DtypeNamesRoundTrip) {
  for (const char* name : {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F4", "F6_E2M3", "F6_E3M2",
                           "F8_E4M3", "F8_E5M2", "F8_E8M0", "F16", "BF16", "F32", "F64"}) {
    DType d;
    ASSERT_TRUE(parse_dtype(name, &d)) << name;
    EXPECT_EQ(to_string(d), name);
    EXPECT_GT(dtype_bits(d), 0);
  }
  DType d;
  EXPECT_FALSE(parse_dtype("f32", &d));
}

}  // namespace
}  // namespace fp4moe
