#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "train/plots.h"

namespace m4h::cli {

void add_plot(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plot",
      "Remake the plots of a trained model's bundle (DIR/plots: loss, accuracy, ROC with the "
      "cut baseline, score distributions) from DIR/metrics.json with gnuplot");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("DIR", *dir, "the --fout folder of `mlaas4hep train`")->required();
  cmd->callback([dir] {
    const train::PlotResult res = train::plot_bundle(*dir);
    for (const std::string& note : res.notes) std::printf("note: %s\n", note.c_str());
    std::printf("wrote %zu files into %s/plots%s\n", res.files.size(), dir->c_str(),
                res.rendered ? "" : " (data and script only: no images)");
  });
}

}  // namespace m4h::cli
