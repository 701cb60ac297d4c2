#include "cli/args.h"

#include <algorithm>
#include <cstdlib>

#include "fp4moe/error.h"

namespace fp4moe::cli {
namespace {

// "--name VALUE", or "--name" for a flag.
std::string spelled(const Option& o) { return "--" + o.name + (o.value.empty() ? "" : " " + o.value); }

}  // namespace

std::string CommandLine::synopsis() const {
  std::string s = operands;
  for (const Option& o : options)
    if (o.required) s += (s.empty() ? "" : " ") + spelled(o);
  return s;
}

std::string CommandLine::usage() const {
  const std::string required = synopsis();
  std::string s = "usage: " + name + (required.empty() ? "" : " " + required);
  for (const Option& o : options)
    if (!o.required) s += " [" + spelled(o) + "]";
  s += "\n" + description;
  if (!options.empty()) {
    size_t width = 0;
    for (const Option& o : options) width = std::max(width, spelled(o).size());
    s += "\noptions:\n";
    for (const Option& o : options)
      s += "  " + spelled(o) + std::string(width + 2 - spelled(o).size(), ' ') + o.help + "\n";
  }
  return s;
}

bool wants_help(const Argv& argv) {
  return std::any_of(argv.begin(), argv.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

Args::Args(const Argv& argv, const CommandLine& line) : command_(line.name) {
  std::string known;
  for (const Option& o : line.options) known += (known.empty() ? "" : ", ") + ("--" + o.name);
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    const std::string name = a.substr(2);
    const auto option =
        std::find_if(line.options.begin(), line.options.end(), [&](const Option& o) { return o.name == name; });
    require(option != line.options.end(), command_, a,
            known.empty() ? "no options (" + command_ + " --help)" : "one of " + known, "an unknown option");
    if (option->value.empty()) {
      flags_.insert(name);
    } else {
      require(i + 1 < argv.size(), command_, a, option->value + " after it", "nothing");
      values_[name] = argv[++i];
    }
  }
  for (const Option& o : line.options)
    require(!o.required || has(o.name), command_, "--" + o.name, "to be given (" + o.help + ")", "nothing");
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
  require(end && *end == '\0' && !it->second.empty(), command_, "--" + name, "an integer", it->second);
  return v;
}

}  // namespace fp4moe::cli
