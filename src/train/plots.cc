#include "train/plots.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/text_file.h"

extern char** environ;

namespace m4h::train {

namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// Everything this module may have written before, removed first so that a remake leaves no stale
// image behind (a multiclass rerun has no ROC, say).
constexpr const char* kOwnFiles[] = {
    "history.dat",  "roc.dat",     "roc_cuts.dat",     "cut_point.dat", "scores.dat",
    "plots.gp",     "gnuplot.log", "loss.svg",         "loss.png",      "accuracy.svg",
    "accuracy.png", "roc.svg",     "roc.png",          "scores.svg",    "scores.png"};

// The chosen box in the ROC legend: the variables it cuts on (its whole rule is in
// metrics.json, and too long for a legend line), or how many when they make a long line.
std::string box_label(const Json& cut) {
  std::string names;
  size_t count = 0;
  if (cut.contains("cuts") && cut["cuts"].is_array()) {
    for (const Json& c : cut["cuts"]) {
      if (!c.is_object() || !c.contains("feature") || !c["feature"].is_string()) continue;
      names += (count++ ? ", " : "") + c["feature"].get<std::string>();
    }
  }
  if (count == 0 && cut.contains("feature") && cut["feature"].is_string())
    return "single cut on " + cut["feature"].get<std::string>();  // (bundles of earlier versions)
  if (count == 0) return "chosen box: " + cut.value("rule", std::string("?"));
  if (names.size() > 48) names = std::to_string(count) + " variables";
  return "chosen box (cuts on " + names + ")";
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw Error(ErrorCode::kIo, path.string() + ": cannot write");
}

std::string number(double v, const char* format = "%.9g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A gnuplot single-quoted string: taken literally, '' stands for one quote. Feature names are the
// user's branch names, so they go through here and never into the script unquoted.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    if (c != '\n' && c != '\r') out += c;
  }
  return out + "'";
}

double number_at(const Json& j, const char* key, double fallback = NAN) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

// A ROC array of metrics.json ([[background efficiency, signal efficiency], ...]) as .dat rows;
// `min_positive` gets the smallest background efficiency above 0 (for the log axis' range).
std::string roc_dat(const Json& curve, double& min_positive) {
  std::string out = "# background_efficiency signal_efficiency\n";
  for (const Json& p : curve) {
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number()) continue;
    const double fpr = p[0].get<double>(), tpr = p[1].get<double>();
    if (fpr > 0) min_positive = std::min(min_positive, fpr);
    out += number(fpr) + " " + number(tpr) + "\n";
  }
  return out;
}

struct RunOutcome {
  int spawn_error = 0;  // errno of a failed start (ENOENT: not installed)
  bool timed_out = false;
  int status = -1;  // exit status when it exited
};

// Runs `args` (args[0] looked up on PATH, no shell) in folder `cwd`, stdout and stderr into `log`,
// stdin from /dev/null; killed after `timeout_seconds`.
RunOutcome run_program(const std::vector<std::string>& args, const std::string& cwd,
                       const std::string& log, double timeout_seconds) {
  RunOutcome out;
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    out.spawn_error = rc;
    return out;
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return out;  // reaped elsewhere: nothing more to learn
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      out.timed_out = true;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) out.status = WEXITSTATUS(status);
  return out;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// The script's preamble: one pass per image format, SVG always, PNG where pngcairo exists.
const char* kPreamble =
    R"(# Made by mlaas4hep from ../metrics.json. Re-run in this folder with `gnuplot plots.gp`;
# restyle freely. SVG always, PNG too where this gnuplot has the pngcairo terminal.
formats = 'svg'
if (strstrt(GPVAL_TERMINALS, ' pngcairo ') > 0) formats = 'svg png'
do for [fmt in formats] {
if (fmt eq 'svg') {
  set terminal svg size 800,560 noenhanced font 'sans,14' background rgb 'white'
} else {
  set terminal pngcairo size 800,560 noenhanced font 'sans,11' background rgb 'white'
}
)";

PlotResult write_plots_of(const std::string& metrics_json, const std::string& dir,
                          double timeout_seconds) {
  Json m;
  try {
    m = Json::parse(metrics_json);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kInvalidArgument, dir + "/metrics.json: malformed JSON: " + e.what());
  }
  if (!m.is_object())
    throw Error(ErrorCode::kInvalidArgument, dir + "/metrics.json: not a JSON object");
  const fs::path folder = fs::absolute(fs::path(dir) / "plots");
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error(ErrorCode::kIo, folder.string() + ": cannot create: " + ec.message());
  for (const char* f : kOwnFiles) fs::remove(folder / f, ec);

  PlotResult res;
  std::vector<std::string> images;  // base names, in plotting order
  auto write_dat = [&](const char* name, const std::string& text) {
    write_text(folder / name, text);
    res.files.push_back(std::string("plots/") + name);
  };
  std::ostringstream gp;
  gp << kPreamble;

  // Loss and accuracy per epoch, with the best epoch (the weights kept) marked.
  const Json history =
      m.contains("history") && m["history"].is_array() ? m["history"] : Json::array();
  if (!history.empty()) {
    std::string dat = "# epoch train_loss validation_loss train_accuracy validation_accuracy\n";
    for (const Json& e : history)
      dat += number(number_at(e, "epoch")) + " " + number(number_at(e, "train_loss")) + " " +
             number(number_at(e, "validation_loss")) + " " +
             number(number_at(e, "train_accuracy")) + " " +
             number(number_at(e, "validation_accuracy")) + "\n";
    write_dat("history.dat", dat);
    const double best = number_at(m, "best_epoch", 0);
    auto epoch_plot = [&](const char* image, const char* title, const char* ylabel, int train_col,
                          const char* key) {
      gp << "\n# " << title << "\nreset\nset output '" << image << ".'.fmt\n"
         << "set title '" << title << "'\nset xlabel 'epoch'\nset ylabel '" << ylabel << "'\n"
         << "set grid\nset key " << key << " box opaque\n";
      if (history.size() <= 20) gp << "set xtics 1\n";
      if (best > 0)
        gp << "set arrow from " << number(best) << ", graph 0 to " << number(best)
           << ", graph 1 nohead dashtype 2 linecolor rgb 'gray40'\n"
           << "set label 'best epoch' at " << number(best)
           << ", graph 0.05 offset 0.5, 0 textcolor rgb 'gray40'\n";
      gp << "plot 'history.dat' using 1:" << train_col
         << " with linespoints linewidth 2 pointtype 7 linecolor rgb '#1f77b4' title 'train', \\\n"
         << "     '' using 1:" << train_col + 1
         << " with linespoints linewidth 2 pointtype 5 linecolor rgb '#d62728' title "
            "'validation'\n";
      images.push_back(image);
    };
    epoch_plot("loss", "Loss per epoch", "loss (cross-entropy, mean per event)", 2, "top right");
    epoch_plot("accuracy", "Accuracy per epoch", "accuracy", 4, "bottom right");
  } else {
    res.notes.push_back("loss and accuracy: metrics.json has no per-epoch history");
  }

  const Json test = m.contains("test") && m["test"].is_object() ? m["test"] : Json::object();
  // ROC: signal efficiency across, background efficiency up on a log axis, as physicists draw it.
  if (test.contains("roc") && test["roc"].is_array() && !test["roc"].empty()) {
    double min_fpr = 1;
    write_dat("roc.dat", roc_dat(test["roc"], min_fpr));
    std::ostringstream plot;
    plot << "plot 'roc.dat' using 2:($1 > 0 ? $1 : 1/0) with lines linewidth 2 linecolor rgb "
            "'#1f77b4' "
            "title "
         << quoted("model (AUC " + number(number_at(test, "auc"), "%.4f") + ")");
    const Json cut =
        m.contains("cut_baseline") && m["cut_baseline"].is_object() ? m["cut_baseline"] : Json();
    if (cut.is_object()) {
      // Bundles of earlier versions hold a single-feature cut: its threshold scan ("scan") and
      // its feature ("feature") instead of the rectangular cuts' "curve" and "cuts".
      const bool single = !cut.contains("curve") && cut.contains("scan");
      const Json curve = cut.contains("curve") ? cut["curve"] : single ? cut["scan"] : Json();
      if (curve.is_object() && curve.contains("roc") && curve["roc"].is_array()) {
        write_dat("roc_cuts.dat", roc_dat(curve["roc"], min_fpr));
        const std::string what =
            single ? "cut scan on " + cut.value("feature", std::string("?")) : std::string("rectangular cuts");
        plot << ", \\\n     'roc_cuts.dat' using 2:($1 > 0 ? $1 : 1/0) with linespoints linewidth 2 "
                "dashtype 2 pointtype 6 linecolor rgb '#ff7f0e' title "
             << quoted(what + " (AUC " + number(number_at(curve, "auc"), "%.4f") + ")");
      }
      const Json point = cut.contains("test") ? cut["test"] : Json();
      const double sig = number_at(point, "signal_efficiency"),
                   bkg = number_at(point, "background_efficiency");
      if (std::isfinite(sig) && std::isfinite(bkg)) {
        if (bkg > 0) min_fpr = std::min(min_fpr, bkg);
        write_dat("cut_point.dat", "# signal_efficiency background_efficiency\n" + number(sig) +
                                       " " + number(bkg) + "\n");
        plot << ", \\\n     'cut_point.dat' using 1:($2 > 0 ? $2 : 1/0) with points pointtype 7 "
                "pointsize 1.6 linecolor rgb '#2ca02c' title "
             << quoted(box_label(cut));
      }
    }
    plot << ", \\\n     x with lines dashtype 3 linecolor rgb 'gray50' title 'random guess'\n";
    // The log axis starts at the power of ten below the smallest efficiency drawn (one event).
    const double low = std::pow(10.0, std::floor(std::log10(std::max(min_fpr, 1e-7))));
    gp << "\n# ROC curve\nreset\nset output 'roc.'.fmt\n"
       << "set title 'ROC curve on the test split'\n"
       << "set xlabel 'signal efficiency (true-positive rate)'\n"
       << "set ylabel 'background efficiency (false-positive rate)'\n"
       << "set logscale y\nset format y '%g'\nset xrange [0:1]\nset yrange [" << number(low)
       << ":1]\n"
       << "set samples 400\nset grid xtics ytics mytics\nset key bottom right box opaque\n"
       << plot.str();
    images.push_back("roc");
  } else {
    res.notes.push_back(
        m.value("classes", 2) > 2
            ? "ROC: skipped: multiclass metrics hold one-vs-rest AUCs, no ROC curves"
            : "ROC: metrics.json has no ROC curve");
  }

  // Score distributions per class, each normalised to its number of events (shapes compare).
  const Json hist = test.contains("score_histograms") ? test["score_histograms"] : Json();
  if (hist.is_object() && hist.contains("0") && hist.contains("1") && hist["0"].is_array() &&
      hist["1"].is_array() && hist["0"].size() == hist["1"].size() && !hist["0"].empty()) {
    const Json& h0 = hist["0"];
    const Json& h1 = hist["1"];
    const size_t bins = h0.size();
    double lo = 0, hi = 1;
    if (hist.contains("range") && hist["range"].is_array() && hist["range"].size() == 2) {
      lo = hist["range"][0].get<double>();
      hi = hist["range"][1].get<double>();
    }
    double n0 = 0, n1 = 0;
    for (size_t b = 0; b < bins; ++b) {
      n0 += h0[b].get<double>();
      n1 += h1[b].get<double>();
    }
    std::string dat =
        "# bin_low bin_high bin_centre fraction_label0 fraction_label1 events_label0 "
        "events_label1\n";
    const double step = (hi - lo) / static_cast<double>(bins);
    for (size_t b = 0; b < bins; ++b) {
      const double a = lo + step * static_cast<double>(b), c0 = h0[b].get<double>(),
                   c1 = h1[b].get<double>();
      dat += number(a) + " " + number(a + step) + " " + number(a + step / 2) + " " +
             number(n0 > 0 ? c0 / n0 : 0) + " " + number(n1 > 0 ? c1 / n1 : 0) + " " + number(c0) +
             " " + number(c1) + "\n";
    }
    write_dat("scores.dat", dat);
    gp << "\n# score distributions\nreset\nset output 'scores.'.fmt\n"
       << "set title 'Model score on the test split'\n"
       << "set xlabel 'score: P(label 1)'\nset ylabel 'fraction of the class''s events per bin'\n"
       << "set xrange [" << number(lo) << ":" << number(hi) << "]\nset yrange [0:*]\n"
       << "set boxwidth " << number(step) << " absolute\n"
       << "set style fill transparent solid 0.35 border\nset grid\nset key top center box opaque\n"
       << "plot 'scores.dat' using 3:4 with boxes linecolor rgb '#1f77b4' title "
       << quoted("label 0 (background), " + number(n0, "%.0f") + " events") << ", \\\n"
       << "     '' using 3:5 with boxes linecolor rgb '#d62728' title "
       << quoted("label 1 (signal), " + number(n1, "%.0f") + " events") << "\n";
    images.push_back("scores");
  } else {
    res.notes.push_back("score distributions: metrics.json has none (binary classification only)");
  }

  gp << "}\nset output\n";
  write_text(folder / "plots.gp", gp.str());
  res.files.push_back("plots/plots.gp");
  if (images.empty()) return res;

  const std::string log = (folder / "gnuplot.log").string();
  const RunOutcome run =
      run_program({"gnuplot", "plots.gp"}, folder.string(), log, timeout_seconds);
  std::string problem;
  if (run.spawn_error == ENOENT) {
    problem = "gnuplot not found (Debian: apt-get install gnuplot-nox)";
  } else if (run.spawn_error != 0) {
    problem = std::string("gnuplot could not start: ") + std::strerror(run.spawn_error);
  } else if (run.timed_out) {
    problem = "gnuplot ran longer than " + number(timeout_seconds, "%.0f") + " s and was stopped";
  } else if (run.status != 0) {
    std::string why;
    try {
      why = last_line(read_text_file(log));
    } catch (const Error&) {
    }
    problem = "gnuplot failed (exit status " + std::to_string(run.status) + ")" +
              (why.empty() ? "" : ": " + why);
  }
  for (const std::string& image : images)
    for (const char* ext : {".svg", ".png"}) {
      const fs::path f = folder / (image + ext);
      if (fs::exists(f, ec) && fs::file_size(f, ec) > 0)
        res.files.push_back("plots/" + image + ext);
    }
  res.rendered = problem.empty();
  if (res.rendered) {
    fs::remove(log, ec);
  } else {
    res.notes.push_back(problem);
    std::fprintf(
        stderr,
        "mlaas4hep: warning: %s; wrote the plots' data and script %s/plots.gp without images\n",
        problem.c_str(), folder.string().c_str());
  }
  return res;
}

}  // namespace

PlotResult write_plots(const std::string& metrics_json, const std::string& dir,
                       double timeout_seconds) {
  try {
    return write_plots_of(metrics_json, dir, timeout_seconds);
  } catch (const Json::exception& e) {  // a value of another type than metrics.json's
    throw Error(ErrorCode::kInvalidArgument, dir + "/metrics.json: unexpected layout: " + e.what());
  }
}

PlotResult plot_bundle(const std::string& dir, double timeout_seconds) {
  PlotResult res = write_plots(read_text_file(dir + "/metrics.json"), dir, timeout_seconds);
  const std::string bundle_path = dir + "/bundle.json";
  std::error_code ec;
  if (!fs::exists(bundle_path, ec)) return res;
  Json bundle;
  try {
    bundle = Json::parse(read_text_file(bundle_path));
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kCorrupt, bundle_path + ": malformed JSON: " + e.what());
  }
  if (!bundle.is_object() || !bundle.contains("files") || !bundle["files"].is_object())
    throw Error(ErrorCode::kCorrupt, bundle_path + ": no \"files\" object");
  bundle["files"]["plots"] = res.files;
  write_text(bundle_path + ".tmp", bundle.dump(1) + "\n");
  fs::rename(bundle_path + ".tmp", bundle_path, ec);
  if (ec) throw Error(ErrorCode::kIo, bundle_path + ": cannot write: " + ec.message());
  return res;
}

}  // namespace m4h::train
