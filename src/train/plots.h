// Plots of a training run, drawn by gnuplot from metrics.json: loss and accuracy per epoch, the ROC
// curve beside the cut-based baseline, and the score distribution per class. The data (*.dat) and
// the script (plots.gp) are written first so that a user can restyle and re-run them
// (`cd DIR/plots && gnuplot plots.gp`); gnuplot then renders SVG, and PNG where it has pngcairo.
#pragma once

#include <string>
#include <vector>

namespace m4h::train {

struct PlotResult {
  std::vector<std::string> files;  // written, relative to the bundle folder ("plots/roc.svg", ...)
  bool rendered = false;           // gnuplot ran and made the images
  std::vector<std::string> notes;  // what was left out and why (a multiclass ROC, no gnuplot)
};

// Writes `dir`/plots/ from metrics.json text (as train_model writes it), replacing earlier plots.
// gnuplot runs as a child process (no shell) for at most `timeout_seconds`, then is killed. A
// missing, failing or hung gnuplot never fails the call: it prints one warning line on stderr and
// leaves the .dat and .gp files. Thread-compatible. Throws m4h::Error: kInvalidArgument (metrics
// that are not JSON), kIo (the folder cannot be written).
PlotResult write_plots(const std::string& metrics_json, const std::string& dir,
                       double timeout_seconds = 60);

// `mlaas4hep plot DIR`: remakes the plots of an existing bundle from DIR/metrics.json and lists
// them in DIR/bundle.json (when there is one). Throws kNotFound without metrics.json, and what
// write_plots throws.
PlotResult plot_bundle(const std::string& dir, double timeout_seconds = 60);

}  // namespace m4h::train
