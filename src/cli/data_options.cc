#include "cli/data_options.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/source_options.h"
#include "core/error.h"

namespace m4h::cli {

void add_data_options(CLI::App& cmd, data::PipelineRequest& r) {
  cmd.add_option("--files", r.files, "input ROOT files: a file listing one per line ('#' comments) or a comma list")
      ->required();
  cmd.add_option("--labels", r.labels, "one integer class per file: a file listing one per line or a comma list")
      ->required();
  cmd.add_option("--params", r.params, "params.json (the reference's keys: nevts, chunk_size, branch, "
                                       "selected_branches, exclude_branches, identifier, redirector, ...)");
  cmd.add_option("--preproc", r.preproc, "preproc.json: new branches, flat and jagged cuts, removals");
  add_source_options(cmd, r.source);
}

void print_notes(const data::Pipeline& p) {
  for (const std::string& line : data::misspelt_param_keys(p.dataset.params))
    std::fprintf(stderr, "mlaas4hep: warning: %s\n", line.c_str());
  if (!p.dataset.params.verbose) return;
  for (const auto& key : p.dataset.params.ignored_keys)
    std::fprintf(stderr, "mlaas4hep: params: key '%s' is not used\n", key.c_str());
  for (const auto& [name, why] : p.plan.skipped)
    std::fprintf(stderr, "mlaas4hep: skipping branch '%s': %s\n", name.c_str(), why.c_str());
}

void warn_misspelt_params(const std::string& path) {
  if (path.empty()) return;
  data::Params params;
  try {
    params = data::load_params(path);
  } catch (const Error&) {
    return;
  }
  for (const std::string& line : data::misspelt_param_keys(params, path))
    std::fprintf(stderr, "mlaas4hep: warning: %s\n", line.c_str());
}

}  // namespace m4h::cli
