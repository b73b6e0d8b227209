// Plots after training: gnuplot renders well-formed SVG files that bundle.json lists; without
// gnuplot (or with one that hangs) training still succeeds and leaves the data and the script;
// multiclass metrics skip the ROC with a note; `mlaas4hep plot DIR` remakes them.
#include "train/plots.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "train/train_test_util.h"

namespace m4h::test {
namespace {

using Json = nlohmann::json;

// Well-formed XML, checked by hand (no XML library here): tags balance, attributes are quoted,
// comments, processing instructions, CDATA and a DOCTYPE are skipped whole. Returns "" or why not.
std::string xml_problem(const std::string& t) {
  std::vector<std::string> open;
  size_t i = 0;
  bool root_seen = false;
  auto skip_to = [&](const char* end) {
    const size_t at = t.find(end, i);
    if (at == std::string::npos) return false;
    i = at + std::strlen(end);
    return true;
  };
  while ((i = t.find('<', i)) != std::string::npos) {
    if (t.compare(i, 4, "<!--") == 0) {
      if (!skip_to("-->")) return "unclosed comment";
    } else if (t.compare(i, 9, "<![CDATA[") == 0) {
      if (!skip_to("]]>")) return "unclosed CDATA";
    } else if (t.compare(i, 2, "<?") == 0) {
      if (!skip_to("?>")) return "unclosed processing instruction";
    } else if (t.compare(i, 2, "<!") == 0) {
      if (!skip_to(">")) return "unclosed declaration";
    } else {
      const bool closing = t.compare(i, 2, "</") == 0;
      size_t j = i + (closing ? 2 : 1);
      const size_t name_end = t.find_first_of(" \t\r\n/>", j);
      if (name_end == std::string::npos || name_end == j) return "bad tag at " + std::to_string(i);
      const std::string name = t.substr(j, name_end - j);
      j = name_end;
      char quote = 0;
      for (; j < t.size(); ++j) {  // to the tag's '>', outside quoted attribute values
        if (quote) {
          if (t[j] == quote) quote = 0;
        } else if (t[j] == '"' || t[j] == '\'') {
          quote = t[j];
        } else if (t[j] == '<') {
          return "'<' inside tag " + name;
        } else if (t[j] == '>') {
          break;
        }
      }
      if (j == t.size()) return "unclosed tag " + name;
      const bool self_closing = t[j - 1] == '/';
      if (closing) {
        if (open.empty() || open.back() != name) return "</" + name + "> closes nothing open";
        open.pop_back();
      } else if (!self_closing) {
        if (open.empty() && root_seen) return "a second root element " + name;
        open.push_back(name);
        root_seen = true;
      }
      i = j + 1;
    }
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return root_seen ? "" : "no element";
}

TEST(PlotsXmlCheck, CatchesBrokenXml) {
  EXPECT_EQ(xml_problem("<?xml version=\"1.0\"?><svg a=\"<>\"><g/><!-- <x> --></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g>"), "");
}

// One small training run shared by the tests of this file.
const std::string& trained_bundle() {
  static Scratch w;
  static std::string dir;
  if (dir.empty()) {
    auto req = train_request(w, R"({"chunk_size": 4000, "epochs": 2, "batch_size": 64, "seed": 7,
        "threads": 1, "learning_rate": 0.003})",
                             w.write("mlp.json", kMlp), "out");
    train::train_model(req);
    dir = req.output;
  }
  return dir;
}

TEST(Plots, TrainingWritesSvgPlotsThatBundleJsonLists) {
  const std::string& dir = trained_bundle();
  for (const char* f : {"loss.svg", "accuracy.svg", "roc.svg", "scores.svg"}) {
    const std::string path = dir + "/plots/" + f;
    ASSERT_TRUE(fs::exists(path)) << f;
    const std::string svg = read_all(path);
    EXPECT_GT(svg.size(), 1000u) << f;
    EXPECT_HAS(svg, "<svg");
    EXPECT_EQ(xml_problem(svg), "") << f;
  }
  for (const char* f :
       {"history.dat", "roc.dat", "roc_cuts.dat", "cut_point.dat", "scores.dat", "plots.gp"})
    EXPECT_TRUE(fs::exists(dir + "/plots/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir + "/plots/gnuplot.log"));  // removed after a clean run
  Json b = Json::parse(read_all(dir + "/bundle.json"));
  std::vector<std::string> listed = b["files"]["plots"];
  for (const char* f : {"plots/loss.svg", "plots/accuracy.svg", "plots/roc.svg", "plots/scores.svg",
                        "plots/plots.gp", "plots/roc.dat"})
    EXPECT_NE(std::find(listed.begin(), listed.end(), f), listed.end()) << f;
  for (const std::string& f : listed) {
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
    EXPECT_GT(fs::file_size(dir + "/" + f), 0u) << f;
  }
  // The ROC legend shows the rectangular cuts' curve and the chosen box's rule.
  const std::string gp = read_all(dir + "/plots/plots.gp");
  Json m = Json::parse(read_all(dir + "/metrics.json"));
  EXPECT_HAS(gp, "rectangular cuts (AUC");
  EXPECT_HAS(gp, "chosen box (cuts on " + m["cut_baseline"]["cuts"][0]["feature"].get<std::string>());
  EXPECT_HAS(gp, "set logscale y");
}

// PATH set for the lifetime of the object (posix_spawnp looks gnuplot up there).
class PathOverride {
 public:
  explicit PathOverride(const std::string& path)
      : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", path.c_str(), 1);
  }
  ~PathOverride() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(Plots, WithoutGnuplotTheDataAndScriptAreWrittenAnyway) {
  Scratch w;
  const std::string metrics = read_all(trained_bundle() + "/metrics.json");
  const std::string dir = w.path("bundle");
  train::PlotResult res;
  {
    PathOverride no_gnuplot(w.path("empty-bin"));
    testing::internal::CaptureStderr();
    res = train::write_plots(metrics, dir);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_HAS(err, "mlaas4hep: warning: gnuplot not found");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  EXPECT_FALSE(res.rendered);
  EXPECT_TRUE(fs::exists(dir + "/plots/plots.gp"));
  EXPECT_TRUE(fs::exists(dir + "/plots/roc.dat"));
  EXPECT_FALSE(fs::exists(dir + "/plots/roc.svg"));
  for (const std::string& f : res.files) EXPECT_EQ(f.find(".svg"), std::string::npos) << f;
}

TEST(Plots, HungGnuplotIsStoppedAfterTheTimeout) {
  Scratch w;
  // Trained (and plotted) before gnuplot is replaced.
  const std::string metrics = read_all(trained_bundle() + "/metrics.json");
  fs::create_directories(w.path("bin"));
  const std::string fake = w.write("bin/gnuplot", "#!/bin/sh\nexec sleep 30\n");
  ::chmod(fake.c_str(), 0755);
  PathOverride fake_gnuplot(w.path("bin") + ":/usr/bin:/bin");
  testing::internal::CaptureStderr();
  const auto t0 = std::chrono::steady_clock::now();
  const train::PlotResult res = train::write_plots(metrics, w.path("b"), 0.5);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_HAS(testing::internal::GetCapturedStderr(), "was stopped");
  EXPECT_FALSE(res.rendered);
  EXPECT_LT(seconds, 10);
}

TEST(Plots, MulticlassSkipsTheRocWithANoteAndOddNamesAreQuoted) {
  Scratch w;
  Json multi = {{"classes", 3},
                {"best_epoch", 1},
                {"history",
                 {{{"epoch", 1},
                   {"train_loss", 0.9},
                   {"validation_loss", 0.8},
                   {"train_accuracy", 0.5},
                   {"validation_accuracy", 0.55}}}},
                {"test", {{"auc", 0.8}, {"auc_one_vs_rest", {0.8, 0.7, 0.9}}}}};
  train::PlotResult res = train::write_plots(multi.dump(), w.path("multi"));
  EXPECT_TRUE(res.rendered);
  EXPECT_TRUE(fs::exists(w.path("multi/plots/loss.svg")));
  EXPECT_FALSE(fs::exists(w.path("multi/plots/roc.svg")));
  bool noted = false;
  for (const auto& n : res.notes) noted = noted || n.find("multiclass") != std::string::npos;
  EXPECT_TRUE(noted);

  // A cut rule holding quotes and gnuplot's special characters draws fine.
  Json m = Json::parse(read_all(trained_bundle() + "/metrics.json"));
  m["cut_baseline"]["cuts"][0]["feature"] = "it's \"odd\" `x` $1 \\ {_^@&~} < 3";
  res = train::write_plots(m.dump(), w.path("odd"));
  EXPECT_TRUE(res.rendered) << (res.notes.empty() ? "" : res.notes.back());
  EXPECT_EQ(xml_problem(read_all(w.path("odd/plots/roc.svg"))), "");

  // A bundle of an earlier version (a single-feature cut, its threshold scan) still draws it.
  m = Json::parse(read_all(trained_bundle() + "/metrics.json"));
  Json old_cut = m["cut_baseline"];
  old_cut["feature"] = "HT";
  old_cut["scan"] = old_cut["curve"];
  old_cut.erase("curve");
  old_cut.erase("cuts");
  old_cut.erase("rule");
  m["cut_baseline"] = old_cut;
  res = train::write_plots(m.dump(), w.path("old"));
  EXPECT_TRUE(res.rendered) << (res.notes.empty() ? "" : res.notes.back());
  const std::string old_gp = read_all(w.path("old/plots/plots.gp"));
  EXPECT_HAS(old_gp, "cut scan on HT (AUC");
  EXPECT_HAS(old_gp, "single cut on HT");

  error_of([&] { train::write_plots("{not json", w.path("bad")); }, ErrorCode::kInvalidArgument);
}

int run(const std::string& args, const Scratch& w, std::string* out) {
  const std::string cmd = std::string(M4H_BINARY_DIR) + "/mlaas4hep " + args + " >" +
                          w.path("stdout") + " 2>" + w.path("stderr");
  const int rc = std::system(cmd.c_str());
  *out = read_all(w.path("stderr")) + read_all(w.path("stdout"));
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(PlotsCli, RemakesThePlotsOfABundle) {
  Scratch w;
  const std::string dir = w.path("copy");
  fs::copy(trained_bundle(), dir, fs::copy_options::recursive);
  fs::remove_all(dir + "/plots");
  Json b = Json::parse(read_all(dir + "/bundle.json"));
  b["files"].erase("plots");
  w.write("copy/bundle.json", b.dump());
  std::string out;
  EXPECT_EQ(run("plot " + dir, w, &out), 0) << out;
  EXPECT_HAS(out, "wrote");
  EXPECT_TRUE(fs::exists(dir + "/plots/roc.svg"));
  EXPECT_TRUE(Json::parse(read_all(dir + "/bundle.json"))["files"]["plots"].size() >= 4);
  EXPECT_EQ(run("plot " + w.path("nowhere"), w, &out), 2) << out;
  EXPECT_HAS(out, "mlaas4hep: error: ");
}

}  // namespace
}  // namespace m4h::test
