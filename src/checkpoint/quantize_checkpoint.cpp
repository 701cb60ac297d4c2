// `fp4moe quantize`: a BF16 MoE checkpoint to ModelOpt NVFP4, one output shard per input shard.
// Expert projection weights become weight / weight_scale / weight_scale_2 (/ input_scale); expert
// biases stay as they are, split per expert where the weights are; every other tensor is handed to
// the writer as a view into the input mapping and copied at write time. Hugging Face transformers'
// layout (bare gate_up_proj [E, H, 2I], gate/up interleaved for gpt-oss, halves for Llama-4; see
// modelopt.h) is split and transposed here, projection by projection, before quantizing; gpt-oss's
// MXFP4 experts are split and converted to NVFP4 (exactly where their block exponents allow).
#include "fp4moe/checkpoint/quantize_checkpoint.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "checkpoint/calibration.h"
#include "checkpoint/json_file.h"
#include "checkpoint/tensor_values.h"
#include "checkpoint/unquantized_experts.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/error.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

struct ProjectionJob {
  const MoeLayerTensors* layer = nullptr;
  int expert = 0;
  ExpertProjection projection = ExpertProjection::kGate;
};

std::string output_name(const MoeLayerTensors& t, int expert, ExpertProjection p, const char* suffix) {
  const bool w_names = t.gate_name.front() == 'w';
  static const char* const kModelOpt[] = {"gate_proj", "up_proj", "down_proj"};
  static const char* const kMixtral[] = {"w1", "w3", "w2"};
  const char* proj = (w_names ? kMixtral : kModelOpt)[int(p)];
  return t.experts_prefix + "." + std::to_string(expert) + "." + proj + "." + suffix;
}

// One expert projection's bias in the output: its own tensor, the same dtype and bytes as the
// source's elements of `slice` (MoeLayerTensors::bias_slice).
struct BiasJob {
  std::string output;
  MoeLayerTensors::BiasSlice slice;
};

std::vector<uint8_t> float_bytes(float v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

class CheckpointQuantizer {
 public:
  CheckpointQuantizer(const MoeCheckpoint& ckpt, const QuantizeCheckpointOptions& options)
      : ckpt_(ckpt), options_(options) {
    for (const auto& t : ckpt.moe_layers()) add_layer_jobs(t);
    for (const auto& t : ckpt.moe_layers()) add_bias_jobs(t);
    if (!options.calibration.empty())
      sample_ = read_calibration(options.calibration, options.calibration_tensor, ckpt.moe_layers().front().hidden);
  }

  // Writes one output shard per input file; returns the index's weight map.
  std::map<std::string, std::string> write_shards(const std::string& out_dir, QuantizeCheckpointReport& report) {
    std::map<std::string, std::string> weight_map;
    for (const auto& file : ckpt_.tensors().files()) {
      const std::string shard = fs::path(file.path()).filename().string();
      SafetensorsWriter writer;
      writer.set_metadata("format", "pt");
      for (const auto& info : file.header().tensors) {
        if (ckpt_.tensors().find(info.name) != &info) continue;  // not in the index: not part of the model
        report.bytes_in += info.bytes();
        if (auto bias = bias_jobs_.find(info.name); bias != bias_jobs_.end()) {
          const uint8_t* data = file.tensor(info).data;
          const int64_t element = dtype_bits(info.dtype) / 8;
          for (const auto& [output, s] : bias->second) {
            if (s.stride == 1) {
              writer.add(output, info.dtype, {s.rows}, data + s.first * element, size_t(s.rows * element));
            } else {
              std::vector<uint8_t> bytes(size_t(s.rows * element));
              for (int64_t j = 0; j < s.rows; ++j)
                std::memcpy(&bytes[size_t(j * element)], data + (s.first + j * s.stride) * element, size_t(element));
              writer.add_owned(output, info.dtype, {s.rows}, std::move(bytes));
            }
            weight_map[output] = shard;
            ++report.biases_copied;
          }
          continue;
        }
        if (consumed_.count(info.name)) continue;  // MXFP4 scales: part of their blocks' projections
        auto it = jobs_.find(info.name);
        if (it == jobs_.end()) {
          writer.add(info.name, info.dtype, info.shape, file.tensor(info).data, info.bytes());
          weight_map[info.name] = shard;
          note_unquantized(info);
          ++report.tensors_copied;
          continue;
        }
        for (const auto& job : it->second) {
          for (const auto& name : add_quantized(writer, job, report)) weight_map[name] = shard;
          ++report.projections_quantized;
          if (options_.progress) options_.progress(report.projections_quantized, total_jobs_);
        }
      }
      report.bytes_out += writer.data_bytes();
      writer.write((fs::path(out_dir) / shard).string());
    }
    return weight_map;
  }

  std::vector<std::string> exclude_modules() const { return {excluded_.begin(), excluded_.end()}; }

 private:
  void add_layer_jobs(const MoeLayerTensors& t) {
    check_unquantized_layer(ckpt_, t);
    for (int e = 0; e < t.num_experts; ++e) {
      for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
        jobs_[t.tensor_name(p, e, "weight")].push_back({&t, e, p});
        if (t.mxfp4) consumed_.insert(t.tensor_name(p, e, "weight_scale"));
        ++total_jobs_;
      }
    }
  }

  // Every bias is checked here (present on every expert, dtype, shape, finite), before anything is
  // written. Per-expert biases keep their names; a fused one ([E, 2I] or [E, H], or a per-expert
  // gate_up's [2I]) is split into the per-expert projections the weights become.
  void add_bias_jobs(const MoeLayerTensors& t) {
    for (int e = 0; e < t.num_experts; ++e) {
      for (ExpertProjection p : {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
        if (!t.has_bias(p)) continue;
        read_expert_bias(ckpt_, t, e, p);
        const bool split = t.fused_experts || (t.fused_gate_up && p != ExpertProjection::kDown);
        const std::string source = t.bias_name(p, e);
        bias_jobs_[source].push_back({split ? output_name(t, e, p, "bias") : source, t.bias_slice(p, e)});
      }
    }
  }

  // ModelOpt lists the linear layers it left unquantized; norms and embeddings are not linears.
  void note_unquantized(const TensorInfo& info) {
    const std::string suffix = ".weight";
    const bool is_weight = info.name.size() > suffix.size() &&
                           info.name.compare(info.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (!is_weight || info.shape.size() != 2) return;
    const std::string module = info.name.substr(0, info.name.size() - suffix.size());
    if (module.find("embed") != std::string::npos || module.find("norm") != std::string::npos) return;
    excluded_.insert(module);
  }

  float down_input_scale(const ProjectionJob& job) const {
    const MoeLayerTensors& t = *job.layer;
    const auto gate = read_unquantized_projection(ckpt_.tensors(), t, job.expert, ExpertProjection::kGate);
    const auto up = read_unquantized_projection(ckpt_.tensors(), t, job.expert, ExpertProjection::kUp);
    // The biases move the intermediate: they are part of what the input scale must cover.
    const auto gate_bias = read_expert_bias(ckpt_, t, job.expert, ExpertProjection::kGate);
    const auto up_bias = read_expert_bias(ckpt_, t, job.expert, ExpertProjection::kUp);
    const float h_amax = intermediate_amax(sample_, gate.data(), up.data(), t.intermediate, ckpt_.model().activation,
                                         gate_bias.empty() ? nullptr : gate_bias.data(),
                                         up_bias.empty() ? nullptr : up_bias.data());
    return modelopt_scale_from_amax(h_amax);
  }

  std::vector<std::string> add_quantized(SafetensorsWriter& writer, const ProjectionJob& job,
                                         QuantizeCheckpointReport& report) {
    const MoeLayerTensors& t = *job.layer;
    const bool down = job.projection == ExpertProjection::kDown;
    const int64_t rows = down ? t.hidden : t.intermediate, k = down ? t.intermediate : t.hidden;
    QuantizedProjection projection = quantize_projection(ckpt_.tensors(), t, job.expert, job.projection);
    QuantizedWeight& q = projection.weight;
    report.inexact_blocks += projection.inexact_blocks;
    report.mxfp4_projections += t.mxfp4 ? 1 : 0;

    const auto name = [&](const char* suffix) { return output_name(*job.layer, job.expert, job.projection, suffix); };
    std::vector<std::string> names = {name("weight"), name("weight_scale"), name("weight_scale_2")};
    writer.add_owned(names[0], DType::kU8, {rows, k / 2}, std::move(q.packed));
    writer.add_owned(names[1], DType::kF8E4M3, {rows, k / 16}, std::move(q.scales));
    writer.add_owned(names[2], DType::kF32, {}, float_bytes(q.scale_2));
    if (sample_.tokens > 0) {
      const float input_scale =
          job.projection == ExpertProjection::kDown ? down_input_scale(job) : modelopt_scale_from_amax(sample_.x_amax);
      names.push_back(name("input_scale"));
      writer.add_owned(names.back(), DType::kF32, {}, float_bytes(input_scale));
    }
    return names;
  }

  const MoeCheckpoint& ckpt_;
  const QuantizeCheckpointOptions& options_;
  std::map<std::string, std::vector<ProjectionJob>> jobs_;  // by source tensor
  std::map<std::string, std::vector<BiasJob>> bias_jobs_;   // by source tensor
  std::set<std::string> consumed_;                          // source tensors read by the jobs, not copied
  int64_t total_jobs_ = 0;
  CalibrationSample sample_;
  std::set<std::string> excluded_;
};

nlohmann::json quantization_recipe(const std::vector<std::string>& exclude_modules) {
  return {{"quant_algo", "NVFP4"},
          {"kv_cache_quant_algo", nullptr},
          {"group_size", 16},
          {"exclude_modules", exclude_modules}};
}

void write_configs(const std::string& in_dir, const std::string& out_dir, const std::vector<std::string>& excluded) {
  const nlohmann::json producer = {{"name", "fp4moe"}, {"version", "0.1.0"}};
  nlohmann::json config = read_json_file((fs::path(in_dir) / "config.json").string());
  nlohmann::json recipe = quantization_recipe(excluded);
  recipe["quant_method"] = "modelopt";
  recipe["producer"] = producer;
  config["quantization_config"] = recipe;
  write_json_file((fs::path(out_dir) / "config.json").string(), config);
  write_json_file((fs::path(out_dir) / "hf_quant_config.json").string(),
                  {{"producer", producer}, {"quantization", quantization_recipe(excluded)}});
}

// Tokenizer files, generation_config.json and the like travel with the model.
void copy_other_files(const std::string& in_dir, const std::string& out_dir) {
  for (const auto& entry : fs::directory_iterator(in_dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors" || name == kIndexName || name == "config.json" ||
        name == "hf_quant_config.json")
      continue;
    fs::copy_file(entry.path(), fs::path(out_dir) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

QuantizeCheckpointReport quantize_checkpoint(const std::string& in_dir, const std::string& out_dir,
                                             const QuantizeCheckpointOptions& options) {
  require(fs::is_directory(in_dir), "quantize_checkpoint", "in_dir", "a checkpoint directory", in_dir);
  std::error_code ec;
  require(!fs::equivalent(in_dir, out_dir, ec), "quantize_checkpoint", "out_dir", "a directory other than in_dir",
          out_dir);
  const MoeCheckpoint ckpt(in_dir);
  require(ckpt.model().quant_algo.empty() || ckpt.model().quant_algo == "MXFP4", ckpt.model().config_path,
          "quant_algo", "an unquantized checkpoint, or gpt-oss's MXFP4 one", ckpt.model().quant_algo);
  require(!ckpt.moe_layers().empty(), "checkpoint " + in_dir, "MoE layers", "at least one (*.layers.L.*.experts.*)",
          "none");
  CheckpointQuantizer quantizer(ckpt, options);  // validates every source before anything is written

  fs::create_directories(out_dir);
  QuantizeCheckpointReport report;
  report.moe_layers = int(ckpt.moe_layers().size());
  const auto weight_map = quantizer.write_shards(out_dir, report);
  if (ckpt.tensors().sharded()) {
    write_json_file((fs::path(out_dir) / kIndexName).string(),
                    {{"metadata", {{"total_size", report.bytes_out}}}, {"weight_map", weight_map}});
  }
  write_configs(in_dir, out_dir, quantizer.exclude_modules());
  copy_other_files(in_dir, out_dir);
  return report;
}

}  // namespace fp4moe
