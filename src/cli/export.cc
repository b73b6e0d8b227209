#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "data/export.h"
#include "data/pipeline.h"

namespace m4h::cli {

namespace {

struct ExportArgs {
  data::PipelineRequest request;
  std::string format = "npy";
  std::string output;
  bool quiet = false;
};

void run_export(ExportArgs& a) {
  // Without --specs, specs live beside the chunks and are recomputed when the inputs change.
  a.request.specs_cache = a.output + "/specs.json";
  std::error_code ec;
  std::filesystem::create_directories(a.output, ec);
  ProgressLine specs_line("specs", !a.quiet);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t read = 0;
  auto p = data::prepare_pipeline(a.request, [&](int64_t done, int64_t total) {
    read = done;
    specs_line.update(done, total, "entries",
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
  if (p->origin == data::SpecsOrigin::kComputed)
    specs_line.finish(read, "entries",
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  print_notes(*p);
  ProgressLine line("export", !a.quiet);
  auto s = data::export_dataset(
      *p, a.output, a.format == "csv" ? data::ExportFormat::kCsv : data::ExportFormat::kNpy,
      [&](const data::ExportProgress& pr) { line.update(pr.events, pr.total, "events", pr.seconds); });
  line.finish(s.events, "events", s.seconds);
  const char* origin = p->origin == data::SpecsOrigin::kForced   ? "given"
                       : p->origin == data::SpecsOrigin::kCached ? "reused (inputs unchanged)"
                                                                 : "computed";
  std::printf("wrote %s: %lld chunks, %lld events, %lld features per event, specs %s, %.2f s "
              "(%.0f events/s)\n",
              a.output.c_str(), static_cast<long long>(s.chunks), static_cast<long long>(s.events),
              static_cast<long long>(p->specs.width()), origin, s.seconds,
              s.seconds > 0 ? static_cast<double>(s.events) / s.seconds : 0.0);
  const auto& jk = p->specs.jkeys;
  const auto& cut = s.report.assembly.truncated;
  int shown = 0, more = 0;
  for (size_t k = 0; k < jk.size() && k < cut.size(); ++k) {
    if (cut[k] == 0) continue;
    if (shown == 5) {
      ++more;
      continue;
    }
    ++shown;
    std::printf("  %s: %lld events truncated to %lld values\n", jk[k].c_str(),
                static_cast<long long>(cut[k]), static_cast<long long>(p->specs.jdim[k]));
  }
  if (more) std::printf("  ... and %d more branches truncated (see export.json)\n", more);
}

}  // namespace

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "Write labelled, mixed, normalised and padded feature chunks (features, mask, labels, "
                "split) for any ML framework");
  auto a = std::make_shared<ExportArgs>();
  add_data_options(*cmd, a->request);
  cmd->add_option("--specs", a->request.specs, "use this specs JSON as it is (default: DIR/specs.json "
                                               "while its inputs are unchanged, else computed)");
  cmd->add_option("--format", a->format, "npy or csv")->check(CLI::IsMember({"npy", "csv"}))->capture_default_str();
  cmd->add_option("-o,--output", a->output, "output folder")->required();
  cmd->add_flag("-q,--quiet", a->quiet, "no progress line");
  cmd->callback([a] { run_export(*a); });
}

}  // namespace m4h::cli
