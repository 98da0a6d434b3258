// Fuzz target: the config loader. The input is the JSON config file, then
// after a NUL byte NUL-separated extras: "--flag=value" entries become
// command-line flags, anything else a "NAME=value" environment entry.

#include "tests/fuzz/check.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/describe.hpp"
#include "config/load.hpp"

using namespace starling::config;

namespace {

// The loader reads a named file, so the input goes through one per process,
// removed at exit.
struct scratch_file {
  std::string path
    = (std::filesystem::temp_directory_path()
       / ("starling-fuzz-config-" + std::to_string(::getpid()) + ".json"))
        .string();
  ~scratch_file() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

const std::string& config_path() {
  static const scratch_file file;
  return file.path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto nul = input.find('\0');
  auto file = input.substr(0, nul);
  {
    std::ofstream out{config_path(), std::ios::binary | std::ios::trunc};
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  std::vector<std::string> args{"starling", "--config", config_path()};
  std::map<std::string, std::string> env;
  while (nul != std::string_view::npos) {
    input.remove_prefix(nul + 1);
    nul = input.find('\0');
    auto entry = input.substr(0, nul);
    if (entry.substr(0, 2) == "--") {
      // --config-reference and friends would only print help: skip them.
      if (entry.substr(0, 8) != "--config" && entry != "--help")
        args.emplace_back(entry);
    } else if (auto eq = entry.find('='); eq != std::string_view::npos) {
      // STARLING_CONFIG would name a file other than the input.
      auto name = std::string{entry.substr(0, eq)};
      if (name != "STARLING_CONFIG")
        env[name] = std::string{entry.substr(eq + 1)};
    }
  }
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  auto outcome = load(static_cast<int>(argv.size()), argv.data(), env);
  if (outcome.what == load_outcome::kind::error) {
    // Errors say where and what: the operator has to fix something.
    STARLING_FUZZ_CHECK(!outcome.error.field.empty());
    STARLING_FUZZ_CHECK(!outcome.error.problem.empty());
    return 0;
  }
  if (outcome.what != load_outcome::kind::run
      && outcome.what != load_outcome::kind::check_config)
    return 0;
  // What --check-config prints and what a SIGHUP reload compares.
  STARLING_FUZZ_CHECK(!effective_json(outcome.value).empty());
  changed_keys(settings{}, outcome.value);
  return 0;
}
