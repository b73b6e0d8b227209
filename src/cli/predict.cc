#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/network_errors.h"
#include "cli/tree_spec.h"
#include "serve/predict.h"

namespace m4h::cli {

void add_predict(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "predict",
      "Score every event of ROOT files with a trained bundle (locally) or a served model (a URL, over OIP "
      "v2) and write the scores as a friend tree: same entries in the same order, named like the input's "
      "tree, one float branch (score, or score_0..score_K-1 for K classes). Events that the bundle's "
      "pre-processing cuts reject get NaN");
  struct Options {
    serve::PredictOptions predict;
    std::vector<std::string> files;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->predict.model,
                  "a bundle folder (train's --fout), or http(s)://host:port/v2/models/NAME[/versions/V]")
      ->required();
  cmd->add_option("FILES", o->files, "FILE[:TREE] ... (their entries are scored one after the other)")->required();
  cmd->add_option("-o,--output", o->predict.output, "the friend tree's file")->required();
  cmd->add_option("--branch-name", o->predict.branch_name, "score branch name (K outputs: NAME_0 ..)")
      ->capture_default_str();
  cmd->add_option("--threads", o->predict.threads, "reading threads, this one included (0: all cores)")
      ->capture_default_str();
  cmd->add_option("--chunk-size", o->predict.chunk_size, "entries read and scored at a time")->capture_default_str();
  cmd->add_option("--timeout", o->predict.timeout_s, "seconds per request to a server")->capture_default_str();
  cmd->callback([o] {
    std::vector<serve::PredictInput> inputs;
    for (const std::string& spec : o->files) {
      const TreeSpec t = split_tree_spec(spec);
      inputs.push_back({t.file, open_tree(t)});
    }
    with_network_status([&] {
      const serve::PredictResult r = serve::predict(inputs, o->predict);
      std::printf("predict: %lld entries scored into %s:%s (%lld branch%s, %lld NaN)\n",
                  static_cast<long long>(r.entries), o->predict.output.c_str(), r.tree.c_str(),
                  static_cast<long long>(r.outputs), r.outputs == 1 ? "" : "es", static_cast<long long>(r.rejected));
    });
  });
}

}  // namespace m4h::cli
