// Helpers for the checkpoint tests: a self-removing temporary directory, raw safetensors images
// (for hostile headers the writer would refuse to produce) and small file writers.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fp4moe::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 8-byte little-endian length of `header`, `header`, then `data`: any header, valid or not.
std::string safetensors_image(const std::string& header, const std::string& data);

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);
void write_json(const std::string& path, const nlohmann::json& j);

}  // namespace fp4moe::testing
