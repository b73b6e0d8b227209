#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gen/event_generator.h"

namespace m4h::cli {

namespace {

struct GenArgs {
  std::string process = "background";
  int64_t events = 10000;
  uint64_t seed = 1;
  std::string codec = "zlib";
  int level = 1;
  int64_t basket_size = 32000;
  std::string layout = "nanoaod";
  int threads = 0;
  std::string output;
};

}  // namespace

void add_gen(CLI::App& app) {
  auto* cmd = app.add_subcommand("gen", "Generate labelled ttH(bb)-vs-ttbar-like events into a ROOT file (tree Events)");
  auto a = std::make_shared<GenArgs>();
  cmd->add_option("--process", a->process, "signal or background")->capture_default_str();
  cmd->add_option("--events", a->events, "number of events")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--codec", a->codec, "zlib, lz4, zstd, lzma or none")->capture_default_str();
  cmd->add_option("--level", a->level, "compression level")->capture_default_str();
  cmd->add_option("--basket-size", a->basket_size, "bytes of entry data per basket")->capture_default_str();
  cmd->add_option("--layout", a->layout, "nanoaod (nJet + Jet_pt[nJet]) or vector (std::vector branches)")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "threads compressing baskets, this one included (0: all cores; the file's bytes do not depend on it)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("-o,--output", a->output, "output ROOT file")->required();
  cmd->callback([a] {
    gen::GeneratorOptions o;
    o.process = gen::parse_process(a->process);
    o.layout = gen::parse_layout(a->layout);
    o.events = a->events;
    o.seed = a->seed;
    o.compression = {gen::parse_codec(a->codec), a->codec == "none" ? 0 : a->level};
    o.basket_size = a->basket_size;
    o.threads = a->threads;
    o.output = a->output;
    auto t0 = std::chrono::steady_clock::now();
    auto r = gen::generate_events(o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %lld %s events, %.1f MB on disk (%.1f MB of values), %.2f s\n",
                o.output.c_str(), static_cast<long long>(r.events), a->process.c_str(),
                r.file_bytes / 1e6, r.uncompressed_bytes / 1e6, s);
  });
}

}  // namespace m4h::cli
