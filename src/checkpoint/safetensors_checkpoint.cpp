// The tensors of a whole checkpoint, single-file or sharded through model.safetensors.index.json.
// Every shard is opened and validated before any tensor is handed out, and the index is held to
// what it claims: each listed tensor is in its shard.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "checkpoint/json_file.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"

namespace fp4moe {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

// The index may only name files beside it: no directories, no "..", nothing absolute.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const nlohmann::json index = read_json_file(index_path);
  require(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), index_path,
          "weight_map", "an object {tensor name: shard file}", "missing or not an object");
  std::map<std::string, std::string> weight_map;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    require(shard.is_string() && is_plain_file_name(shard.get<std::string>()), index_path,
            "weight_map['" + tensor + "']", "a file name in the checkpoint directory", shard.dump());
    weight_map[tensor] = shard.get<std::string>();
  }
  require(!weight_map.empty(), index_path, "weight_map", "at least one tensor", "none");
  return weight_map;
}

std::vector<std::string> safetensors_in_dir(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  require(!files.empty(), "checkpoint", dir, "a directory with " + std::string(kIndexName) + " or *.safetensors files",
          "none found");
  return files;
}

}  // namespace

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    files_.emplace_back(path);
    add_file_tensors(0);
    return;
  }
  const std::string index_path = (fs::path(path) / kIndexName).string();
  if (!fs::exists(index_path)) {
    const std::string single = (fs::path(path) / "model.safetensors").string();
    const std::vector<std::string> names =
        fs::exists(single) ? std::vector<std::string>{single} : safetensors_in_dir(path);
    for (const auto& name : names) {
      files_.emplace_back(name);
      add_file_tensors(int(files_.size()) - 1);
    }
    return;
  }
  sharded_ = true;
  const auto weight_map = read_weight_map(index_path);
  std::map<std::string, int> shard_index;
  for (const auto& [tensor, shard] : weight_map) {
    if (shard_index.count(shard)) continue;
    shard_index[shard] = int(files_.size());
    files_.emplace_back((fs::path(path) / shard).string());
  }
  for (const auto& [tensor, shard] : weight_map) {
    const int file = shard_index.at(shard);
    const TensorInfo* info = files_[file].find(tensor);
    require(info != nullptr, "safetensors " + files_[file].path(), "tensor '" + tensor + "'",
            "present (listed for this shard in " + index_path + ")", "missing");
    locations_[tensor] = Location{file, int(info - files_[file].header().tensors.data())};
  }
}

void SafetensorsCheckpoint::add_file_tensors(int file_index) {
  const auto& tensors = files_[file_index].header().tensors;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto [it, inserted] = locations_.emplace(tensors[i].name, Location{file_index, int(i)});
    require(inserted, "checkpoint " + path_, "tensor '" + tensors[i].name + "'", "in one file only",
            "in both " + files_[it->second.file].path() + " and " + files_[file_index].path());
  }
}

const TensorInfo* SafetensorsCheckpoint::find(std::string_view name) const {
  auto it = locations_.find(std::string(name));
  if (it == locations_.end()) return nullptr;
  return &files_[it->second.file].header().tensors[it->second.tensor];
}

TensorView SafetensorsCheckpoint::tensor(std::string_view name) const {
  auto it = locations_.find(std::string(name));
  require(it != locations_.end(), "checkpoint " + path_, "tensor '" + std::string(name) + "'", "present", "missing");
  const SafetensorsFile& file = files_[it->second.file];
  return file.tensor(file.header().tensors[it->second.tensor]);
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view name) const {
  auto it = locations_.find(std::string(name));
  require(it != locations_.end(), "checkpoint " + path_, "tensor '" + std::string(name) + "'", "present", "missing");
  return files_[it->second.file];
}

std::vector<std::string> SafetensorsCheckpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(locations_.size());
  for (const auto& [name, location] : locations_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t SafetensorsCheckpoint::total_tensor_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, location] : locations_)
    total += files_[location.file].header().tensors[location.tensor].bytes();
  return total;
}

}  // namespace fp4moe
