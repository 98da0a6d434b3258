// A stand-in for libFuzzer's main in builds without it (gcc): feeds every
// file of the given corpus folders to LLVMFuzzerTestOneInput once, so each
// seed and past crash stays a regression test in every build.

#include "tests/fuzz/check.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path arg{argv[i]};
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator{arg})
        if (entry.is_regular_file())
          files.push_back(entry.path());
    } else if (fs::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
      return 2;
    }
  }
  // An empty corpus would pass silently: it is a broken test, not a green one.
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs (usage: %s <corpus dir|file>...)\n",
                 argv[0]);
    return 2;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in{file, std::ios::binary};
    std::string bytes{std::istreambuf_iterator<char>{in},
                      std::istreambuf_iterator<char>{}};
    // A copy on the heap, sized exactly, so ASan sees reads past the end.
    std::vector<uint8_t> input(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("replay: %zu inputs ok\n", files.size());
  return 0;
}
