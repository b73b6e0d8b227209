#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/network_errors.h"
#include "cli/tree_spec.h"
#include "serve/client.h"
#include "serve/predict.h"

namespace m4h::cli {

namespace {

// Shortest text that reads back to the same float; "nan" for events the cuts rejected.
std::string float_text(float v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void print_line(const std::string& body) {
  std::fwrite(body.data(), 1, body.size(), stdout);
  if (body.empty() || body.back() != '\n') std::fputc('\n', stdout);
}

}  // namespace

void add_client(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "client",
      "Talk to a running `mlaas4hep serve`: list models, upload or delete a bundle, score events of a "
      "ROOT file over OIP v2, show the server's status. Exit status 1 for network or server failures, "
      "2 for bad input (an HTTP 4xx answer included)");
  cmd->require_subcommand(1);
  struct Options {
    std::string url;
    double timeout = 60;
    std::string name, bundle, spec;
    int64_t entries = 10;
    bool raw = false, features = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--url", o->url, "the server, http(s)://host:port")->required();
  cmd->add_option("--timeout", o->timeout, "seconds per request")->capture_default_str();
  cmd->fallthrough();
  auto client = [o] { return std::make_unique<serve::Client>(o->url, o->timeout); };

  cmd->add_subcommand("models", "the models and their versions (GET /models)")->callback([client] {
    with_network_status([&] { print_line(client()->models()); });
  });
  cmd->add_subcommand("status", "the server's status (GET /status)")->callback([client] {
    with_network_status([&] { print_line(client()->status()); });
  });
  auto* del = cmd->add_subcommand("delete", "unload a model and delete it from the server's repository");
  del->add_option("NAME", o->name, "model name")->required();
  del->callback([o, client] { with_network_status([&] { print_line(client()->remove(o->name)); }); });

  auto* up = cmd->add_subcommand("upload", "add a bundle as the next version of NAME (a folder is packed with tar)");
  up->add_option("NAME", o->name, "model name")->required();
  up->add_option("BUNDLE", o->bundle, "a bundle folder (train's --fout) or a .tar.gz of one")->required();
  up->callback([o, client] { with_network_status([&] { print_line(client()->upload(o->name, o->bundle)); }); });

  auto* pr = cmd->add_subcommand(
      "predict",
      "score the first N events of FILE[:TREE] with model NAME over OIP v2 and print `entry<TAB>score` per "
      "event (one column per output; nan where the model's pre-processing cuts reject the event)");
  pr->add_option("NAME", o->name, "model name")->required();
  pr->add_option("FILE", o->spec, "FILE[:TREE]")->required();
  pr->add_option("--entries", o->entries, "events to send (-1: all)")->capture_default_str();
  auto* raw = pr->add_flag("--raw", o->raw, "send the model's raw branches (the default)");
  auto* feat = pr->add_flag("--features", o->features,
                            "send the tree's branches named like the model's feature columns as one tensor x "
                            "(already normalised inputs)");
  raw->excludes(feat);
  pr->callback([o, client] {
    auto tree = open_tree(split_tree_spec(o->spec));
    with_network_status([&] {
      auto c = client();
      const serve::Scores s = with_context(o->spec, [&] {
        return serve::score_remote(*c, "/v2/models/" + o->name, *tree, o->entries, o->features);
      });
      for (int64_t r = 0; r < s.rows; ++r) {
        std::string line = std::to_string(r);
        for (int64_t j = 0; j < s.outputs; ++j) line += "\t" + float_text(s.values[static_cast<size_t>(r * s.outputs + j)]);
        std::puts(line.c_str());
      }
    });
  });
}

}  // namespace m4h::cli
