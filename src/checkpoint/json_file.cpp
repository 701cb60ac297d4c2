// JSON files of a checkpoint: read bounded, parsed with nlohmann::json, errors naming the file.
#include "checkpoint/json_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fp4moe/error.h"

namespace fp4moe {
namespace {
constexpr std::uintmax_t kMaxJsonFileBytes = 64u << 20;
}

nlohmann::json read_json_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  require(!ec, "json", path, "a readable file", ec.message());
  require(size <= kMaxJsonFileBytes, "json", path, "a file of at most 64 MiB", std::to_string(size) + " bytes");
  std::ifstream in(path, std::ios::binary);
  require(bool(in), "json", path, "a readable file", "open failed");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    require(false, "json", path, "well-formed JSON", e.what());
  }
  return {};
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << j.dump(2) << "\n";
    require(bool(out), "json", tmp, "a successful write", "a write error");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  require(!ec, "json", path, "a successful rename from " + tmp, ec.message());
}

}  // namespace fp4moe
