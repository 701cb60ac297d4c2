// Minimal command-line parsing shared by the CLI subcommands: positional arguments and
// `--name value` / `--flag` options. Unknown options and malformed values are errors that name
// the option.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fp4moe::cli {

class Args {
 public:
  // `value_options` take a value (--tokens 8), `flag_options` do not (--cpu).
  Args(const std::vector<std::string>& argv, const std::set<std::string>& value_options,
       const std::set<std::string>& flag_options);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  long long get_int(const std::string& name, long long fallback) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace fp4moe::cli
