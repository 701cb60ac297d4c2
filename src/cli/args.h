// Minimal command-line parsing shared by the CLI subcommands: positional arguments and
// `--name value` / `--flag` options, declared once per subcommand (CommandLine) for both the
// parser and the subcommand's --help. Unknown options and malformed values are errors that name
// the option.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fp4moe::cli {

using Argv = std::vector<std::string>;

// One option: `--name VALUE` where `value` names the value, `--name` (a flag) where it is empty.
struct Option {
  std::string name;
  std::string value;
  std::string help;
  bool required = false;
};

// A subcommand's command line: its name ("fp4moe run"), its operands ("DIR"), its options and
// what it does; usage() is its --help.
struct CommandLine {
  std::string name;
  std::string operands;
  std::vector<Option> options;
  std::string description;

  // The operands and the required options ("DIR --layer L"): what the command cannot run without.
  std::string synopsis() const;
  std::string usage() const;
};

// Whether the arguments ask for help (--help or -h anywhere among them).
bool wants_help(const Argv& argv);

class Args {
 public:
  Args(const Argv& argv, const CommandLine& line);

  // The command's name ("fp4moe run"), for the errors of the checks its caller makes.
  const std::string& command() const { return command_; }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  long long get_int(const std::string& name, long long fallback) const;

 private:
  std::string command_;
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace fp4moe::cli
