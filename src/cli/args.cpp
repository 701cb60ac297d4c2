#include "cli/args.h"

#include <cstdlib>

#include "fp4moe/error.h"

namespace fp4moe::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
           const std::set<std::string>& flag_options) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    const std::string name = a.substr(2);
    if (flag_options.count(name)) {
      flags_.insert(name);
    } else if (value_options.count(name)) {
      require(i + 1 < argv.size(), "fp4moe", a, "a value after it", "nothing");
      values_[name] = argv[++i];
    } else {
      require(false, "fp4moe", a, "one of the options listed by --help", "an unknown option");
    }
  }
}

bool Args::has(const std::string& name) const { return flags_.count(name) || values_.count(name); }

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

long long Args::get_int(const std::string& name, long long fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  require(end && *end == '\0' && !it->second.empty(), "fp4moe", "--" + name, "an integer", it->second);
  return v;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  require(end && *end == '\0' && !it->second.empty(), "fp4moe", "--" + name, "a number", it->second);
  return v;
}

}  // namespace fp4moe::cli
