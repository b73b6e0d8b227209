#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "data/pipeline.h"

namespace m4h::cli {

namespace {

struct SpecsArgs {
  data::PipelineRequest request;
  std::string output;
  bool quiet = false;
};

void run_specs(SpecsArgs& a) {
  a.request.force_compute = true;
  ProgressLine line("specs", !a.quiet);
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  int64_t read = 0;
  auto p = data::prepare_pipeline(a.request, [&](int64_t done, int64_t total) {
    read = done;
    line.update(done, total, "entries", seconds());
  });
  line.finish(read, "entries", seconds());
  p->specs.save(a.output);
  const data::Specs& s = p->specs;
  std::printf("wrote %s: %zu features (%zu flat, %zu jagged), width %lld, %lld events after cuts "
              "from %zu files\n",
              a.output.c_str(), s.features().size(), s.fkeys.size(), s.jkeys.size(),
              static_cast<long long>(s.width()), static_cast<long long>(s.total_events),
              p->files.size());
  for (size_t k = 0; k < s.jkeys.size(); ++k)
    if (s.truncated[k] > 0)
      std::printf("  %s: %lld events longer than jdim_max %lld are truncated (longest %lld)\n",
                  s.jkeys[k].c_str(), static_cast<long long>(s.truncated[k]),
                  static_cast<long long>(s.jdim[k]), static_cast<long long>(s.jdim_measured[k]));
  print_notes(*p);
}

}  // namespace

void add_specs(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "specs", "First pass over labelled ROOT files: per-branch min/max and jagged lengths as specs JSON");
  auto a = std::make_shared<SpecsArgs>();
  add_data_options(*cmd, a->request);
  cmd->add_option("-o,--output", a->output, "specs JSON to write")->required();
  cmd->add_flag("-q,--quiet", a->quiet, "no progress line");
  cmd->callback([a] { run_specs(*a); });
}

}  // namespace m4h::cli
