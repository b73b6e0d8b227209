// Helpers for the data-layer tests: a scratch folder, generated labelled files, and raw branch
// values read straight from the reader's columns (not through the code under test) for computing
// expected features by hand.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "gen/event_generator.h"
#include "root/branch_reader.h"
#include "root/file.h"
#include "root/tree.h"

namespace m4h::test {

namespace fs = std::filesystem;

// The message of the m4h::Error that `fn` must throw, with `code`.
template <typename Fn>
std::string error_of(Fn&& fn, ErrorCode code) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

class Scratch {
 public:
  Scratch() {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("m4h-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

 private:
  fs::path dir_;
};

// Generated NanoAOD-like events (tree Events): signal or background.
inline std::string generate(const Scratch& s, const std::string& name, bool signal, int64_t events,
                            uint64_t seed, gen::Layout layout = gen::Layout::kNanoAOD) {
  gen::GeneratorOptions o;
  o.process = signal ? gen::Process::kSignal : gen::Process::kBackground;
  o.events = events;
  o.seed = seed;
  o.layout = layout;
  o.threads = 1;
  o.basket_size = 8000;  // several baskets per branch even for small files
  o.output = s.path(name);
  gen::generate_events(o);
  return o.output;
}

// A branch's values as doubles, read with the reader alone; offsets empty for flat branches.
struct Raw {
  std::vector<double> values;
  std::vector<int64_t> offsets;
  int64_t length(int64_t i) const { return offsets.empty() ? 1 : offsets[i + 1] - offsets[i]; }
  double at(int64_t i, int64_t j = 0) const {
    return offsets.empty() ? values[i] : values[offsets[i] + j];
  }
};

inline Raw read_raw(const std::string& path, const std::string& tree_name, const std::string& branch) {
  auto file = root::File::open(path);
  auto tree = root::Tree::load(file, tree_name);
  const root::BranchInfo* b = tree->find(branch);
  if (!b) throw Error(ErrorCode::kNotFound, "test: no branch " + branch);
  root::Column c = root::read_branch(*tree, *b, 0, tree->entries());
  Raw r;
  const int64_t n = c.value_count();
  for (int64_t i = 0; i < n; ++i) {
    double v = 0;
    switch (c.dtype) {
      case root::DType::kFloat32: v = c.value<float>(i); break;
      case root::DType::kFloat64: v = c.value<double>(i); break;
      case root::DType::kInt32: v = c.value<int32_t>(i); break;
      case root::DType::kUInt32: v = c.value<uint32_t>(i); break;
      case root::DType::kInt64: v = static_cast<double>(c.value<int64_t>(i)); break;
      case root::DType::kUInt64: v = static_cast<double>(c.value<uint64_t>(i)); break;
      case root::DType::kBool: v = c.value<bool>(i); break;
      case root::DType::kInt16: v = c.value<int16_t>(i); break;
      case root::DType::kUInt8: v = c.value<uint8_t>(i); break;
      default: throw Error(ErrorCode::kUnsupported, "test: dtype not handled in read_raw");
    }
    r.values.push_back(v);
  }
  if (!c.offsets.empty()) r.offsets = c.offsets[0];
  return r;
}

}  // namespace m4h::test
