// Files written by the Python safetensors package load here and files written here load there.
// Skipped, visibly, where python3 with safetensors and numpy is not installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "checkpoint/checkpoint_files.h"
#include "fp4moe/checkpoint/safetensors.h"

namespace fp4moe {
namespace {

using testing::TempDir;

std::string python() {
  const char* env = std::getenv("FP4MOE_PYTHON");
  if (env && *env) return env;
  return std::string(FP4MOE_PYTHON).empty() ? "python3" : FP4MOE_PYTHON;
}

int run(const std::string& command) { return std::system((command + " 1>&2").c_str()); }

int interop(const std::string& mode, const std::string& path) {
  return run(python() + " " + FP4MOE_INTEROP_SCRIPT + " " + mode + " '" + path + "'");
}

class PythonInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run(python() + " -c 'import safetensors, numpy'") != 0)
      GTEST_SKIP() << "python3 with the safetensors and numpy packages is not installed (" << python() << ")";
  }
};

TEST_F(PythonInterop, FilesWrittenByPythonLoadHere) {
  TempDir dir;
  const std::string base = dir.file("py");
  ASSERT_EQ(interop("write", base), 0);

  const SafetensorsFile numpy_file(base + ".numpy.safetensors");
  EXPECT_EQ(numpy_file.header().metadata.at("producer"), "python");
  const TensorView f32 = numpy_file.tensor("f32");
  EXPECT_EQ(f32.info->dtype, DType::kF32);
  EXPECT_EQ(f32.info->shape, (std::vector<int64_t>{3, 4}));
  for (int i = 0; i < 12; ++i) {
    float v;
    std::memcpy(&v, f32.data + 4 * i, 4);
    EXPECT_EQ(v, 0.5f * i);
  }
  const TensorView u8 = numpy_file.tensor("u8");
  EXPECT_EQ(std::vector<uint8_t>(u8.data, u8.data + 5), (std::vector<uint8_t>{0, 1, 2, 250, 255}));
  EXPECT_EQ(numpy_file.tensor("i32").info->dtype, DType::kI32);
  EXPECT_EQ(numpy_file.tensor("f16").info->dtype, DType::kF16);

  const SafetensorsFile raw(base + ".raw.safetensors");
  const TensorView bf16 = raw.tensor("bf16");
  EXPECT_EQ(bf16.info->dtype, DType::kBF16);
  uint16_t bits[2];
  std::memcpy(bits, bf16.data, 4);
  EXPECT_EQ(bits[0], 0x3F80);
  EXPECT_EQ(bits[1], 0xC000);
  const TensorView e4m3 = raw.tensor("e4m3");
  EXPECT_EQ(e4m3.info->dtype, DType::kF8E4M3);
  EXPECT_EQ(std::vector<uint8_t>(e4m3.data, e4m3.data + 4), (std::vector<uint8_t>{0x38, 0x40, 0x00, 0x7E}));
}

TEST_F(PythonInterop, FilesWrittenHereLoadInPython) {
  TempDir dir;
  const uint8_t u8[6] = {0, 1, 2, 3, 4, 5};
  const float f32[2] = {0.5f, -1.25f}, scalar = 3.0f;
  const uint16_t bf16[3] = {0x3F80, 0x4000, 0xBF00};
  const uint8_t e4m3[2] = {0x38, 0x7E};
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("u8", DType::kU8, {2, 3}, u8, 6);
  w.add("f32", DType::kF32, {2}, f32, 8);
  w.add("bf16", DType::kBF16, {3}, bf16, 6);
  w.add("e4m3", DType::kF8E4M3, {2}, e4m3, 2);
  w.add("scalar", DType::kF32, {}, &scalar, 4);
  w.write(dir.file("cpp.safetensors"));
  EXPECT_EQ(interop("check", dir.file("cpp.safetensors")), 0);
}

TEST_F(PythonInterop, TinyNvfp4CheckpointLoadsInPython) {
  EXPECT_EQ(interop("check-tiny", std::string(FP4MOE_TEST_DATA) + "/tiny-nvfp4"), 0);
}

}  // namespace
}  // namespace fp4moe
