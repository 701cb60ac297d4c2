// Reading the small JSON files of a checkpoint (config.json, hf_quant_config.json, the shard
// index) with errors that name the file. Internal.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace fp4moe {

// Throws Error naming `path` when it cannot be read, is over 64 MiB or is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

// Writes `j` indented (as Hugging Face tools do) through a temporary file and a rename.
void write_json_file(const std::string& path, const nlohmann::json& j);

}  // namespace fp4moe
