#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "train/distributed.h"
#include "train/train.h"

namespace m4h::cli {

namespace {

struct TrainArgs {
  train::TrainRequest request;
  bool quiet = false;
};

std::string duration(double s) {
  char buf[32];
  if (s < 90) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else if (s < 5400) {
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  }
  return buf;
}

void run_train(TrainArgs& a) {
  // One progress line for a distributed run: rank 0's.
  const bool leader = !a.request.distributed || train::launch_from_environment().rank == 0;
  if (!leader) a.quiet = true;
  std::unique_ptr<ProgressLine> line;
  std::string current;
  int64_t last_done = 0;
  double last_seconds = 0;
  const char* unit = "events";
  auto finish = [&] {
    if (line) line->finish(last_done, unit, last_seconds);
    line.reset();
  };
  if (leader) warn_misspelt_params(a.request.data.params);
  auto res = train::train_model(a.request, [&](const train::TrainProgress& p) {
    std::string what = p.phase;
    if (p.phase == "train" && p.epochs > 1)
      what += " epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs);
    if (what != current) {
      finish();
      current = what;
      if (p.phase == "evaluate") return;
      line = std::make_unique<ProgressLine>(what, !a.quiet);
    }
    unit = p.phase == "specs" ? "entries" : "events";
    std::string extra;
    if (p.phase == "train") {
      char buf[96];
      std::snprintf(buf, sizeof buf, ", loss %.4f", p.loss);
      extra = buf;
      if (p.eta >= 0) extra += ", ETA " + duration(p.eta);
    }
    last_done = p.events;
    last_seconds = p.seconds;
    line->update(p.events, p.total, unit, p.seconds, extra);
  });
  finish();
  if (res.rank != 0) {
    std::printf("rank %d of %d: trained on %zu file%s (%lld events fed to the optimiser), %.1f s\n",
                res.rank, res.world_size, res.files.size(), res.files.size() == 1 ? "" : "s",
                static_cast<long long>(res.events_trained), res.seconds);
    return;
  }
  const auto& h = res.history;
  std::printf("trained %s: %zu epoch%s (best %lld%s%s), test AUC %.4f, accuracy %.4f, loss %.4f\n",
              a.request.model.c_str(), h.size(), h.size() == 1 ? "" : "s",
              static_cast<long long>(res.best_epoch), res.stopped_early ? ", stopped early" : "",
              res.resumed ? ", resumed" : "", res.test.auc, res.test.accuracy, res.test.loss);
  if (res.has_baseline)
    std::printf("cut baseline (%s): test AUC %.4f (this box), %.4f (cut-based ROC), accuracy %.4f\n",
                res.cut_rule.c_str(), res.cut.auc, res.cut_curve.auc, res.cut.accuracy);
  std::printf("wrote %s: %s, bundle.json, metrics.json (%lld train, %lld validation, %lld test "
              "events), %.1f s\n",
              a.request.output.c_str(), res.model_file.c_str(), static_cast<long long>(res.train_rows),
              static_cast<long long>(res.validation_rows), static_cast<long long>(res.test_rows),
              res.seconds);
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Train a model (TorchScript file or JSON description) on labelled ROOT files; write "
               "the model bundle and test metrics against a cut-based baseline");
  auto a = std::make_shared<TrainArgs>();
  add_data_options(*cmd, a->request.data);
  cmd->add_option("--specs", a->request.data.specs, "use this specs JSON as it is (default: DIR/specs.json "
                                                    "while its inputs are unchanged, else computed)");
  cmd->add_option("--model", a->request.model,
                  "a TorchScript file (torch.jit.script(model).save(...); forward(x) or forward(x, mask)) "
                  "or a JSON description ({\"type\": \"mlp\", \"hidden\": [64, 32], ...})")
      ->required();
  cmd->add_option("--fout", a->request.output, "output folder: the model bundle, metrics, checkpoints")->required();
  cmd->add_option("--device", a->request.device, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", a->request.threads,
                  "threads reading and assembling data, the calling one included (0 = all cores; "
                  "default: params.json's \"threads\")");
  cmd->add_flag("--resume", a->request.resume, "continue from DIR/checkpoint.pt when there is one");
  cmd->add_flag("--distributed", a->request.distributed,
                "data-parallel training: this process is one rank (rank and world size from mpirun, "
                "srun or RANK/WORLD_SIZE); each rank reads its share of the files, rank 0 writes the "
                "bundle");
  cmd->add_option("--rendezvous", a->request.rendezvous,
                  "where the ranks meet: tcp (MASTER_ADDR, default 127.0.0.1; MASTER_PORT, default "
                  "29500) or file:PATH on a file system every rank sees")
      ->default_str("tcp");
  cmd->add_option("--rendezvous-timeout", a->request.rendezvous_timeout,
                  "seconds to wait for every rank to come")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", a->quiet, "no progress line");
  cmd->callback([a] { run_train(*a); });
}

}  // namespace m4h::cli
