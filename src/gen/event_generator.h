// Labelled, physics-like collision events for demos, tests and benchmarks: a ttH(->bb) signal
// and a ttbar background with overlapping distributions, written as an `Events` TTree in a
// NanoAOD-like layout (counter + flat arrays) or with std::vector branches. Deterministic: the
// same options give the same bytes on any machine (own PRNG and distributions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "root/column.h"
#include "root/compression.h"
#include "root/tree_writer.h"

namespace m4h::gen {

enum class Process { kSignal, kBackground };
enum class Layout { kNanoAOD, kVector };

struct GeneratorOptions {
  Process process = Process::kBackground;
  int64_t events = 10000;
  uint64_t seed = 1;
  root::CompressionSettings compression{root::Codec::kZlib, 1};
  int64_t basket_size = 32000;
  Layout layout = Layout::kNanoAOD;
  int64_t chunk_size = 10000;  // events generated and appended at a time
  int threads = 0;             // threads compressing baskets, this one included (0: all cores)
  std::string output;
};

// The tree's branches for a layout, in writing order.
std::vector<root::BranchSpec> event_branches(Layout layout);

// Events [first, first + n) of a stream: one column per event_branches() entry. The stream is a
// pure function of (process, seed, event index), so chunks can be generated in any order.
std::vector<root::Column> generate_chunk(Process process, Layout layout, uint64_t seed,
                                         int64_t first, int64_t n);

struct GeneratorResult {
  int64_t events = 0;
  uint64_t file_bytes = 0;
  uint64_t uncompressed_bytes = 0;
};

// Writes options.output. Throws m4h::Error (kInvalidArgument for bad options, kIo).
GeneratorResult generate_events(const GeneratorOptions& options);

Process parse_process(const std::string& s);
Layout parse_layout(const std::string& s);
root::Codec parse_codec(const std::string& s);

}  // namespace m4h::gen
