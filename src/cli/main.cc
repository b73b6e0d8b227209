#include <CLI/CLI.hpp>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/suggest.h"

namespace {

struct HeavyCommand {
  const char* name;
  const char* description;
  void (*add)(CLI::App&);
};

// The machine-learning commands live in mlaas4hep-ml (it links libtorch and XGBoost); this table
// lists them for both executables so that `mlaas4hep --help` shows them too.
#ifdef M4H_CLI_FULL
#define M4H_HEAVY(fn) &m4h::cli::fn
#else
#define M4H_HEAVY(fn) nullptr
#endif
// The help lines of the stubs are short forms; `mlaas4hep COMMAND --help` gives the whole text.
constexpr HeavyCommand kHeavyCommands[] = {
    {"train", "Train a model (TorchScript or JSON MLP / deep sets, XGBoost) on labelled ROOT files",
     M4H_HEAVY(add_train)},
    {"plot", "Remake the plots of a trained model's bundle from its metrics.json", M4H_HEAVY(add_plot)},
    {"serve", "Serve trained bundles over HTTP: Open Inference Protocol v2, the TFaaS API, /metrics",
     M4H_HEAVY(add_serve)},
    {"client", "Talk to a running `mlaas4hep serve`: models, upload, delete, score, status",
     M4H_HEAVY(add_client)},
    {"predict", "Score every event of ROOT files with a trained or served model into a friend tree",
     M4H_HEAVY(add_predict)},
    {"server", "The workflow server: uploads, training jobs over HTTP (/api/v1), published models",
     M4H_HEAVY(add_server)},
};
#undef M4H_HEAVY

#ifndef M4H_CLI_FULL
// Replaces this process by mlaas4hep-ml from the same folder, with the same arguments.
// Returns only on failure (with the exit status to use).
int exec_full_cli(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto full = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "mlaas4hep-ml";
  execv(full.c_str(), argv);
  const int err = errno;
  std::fprintf(stderr,
               "mlaas4hep: error: '%s' is run by %s, which could not be started (%s); it is built "
               "and installed beside mlaas4hep\n",
               argv[1], full.c_str(), std::strerror(err));
  return 2;
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifndef M4H_CLI_FULL
  if (argc > 1) {
    for (const auto& c : kHeavyCommands)
      if (std::string_view(argv[1]) == c.name) return exec_full_cli(argv);
  }
#endif
  // Columns are large and short-lived: keep freed memory in the process instead of returning it
  // to the kernel after every chunk (page faults dominated reads on small VMs).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"mlaas4hep: Machine Learning as a Service for High-Energy Physics"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mlaas4hep 0.1.0");
  m4h::cli::add_ls(app);
  m4h::cli::add_show(app);
  m4h::cli::add_dump(app);
  m4h::cli::add_gen(app);
  m4h::cli::add_specs(app);
  m4h::cli::add_export(app);
  for (const auto& c : kHeavyCommands) {
    if (c.add)
      c.add(app);
    else
      app.add_subcommand(c.name, c.description);  // listed by --help; run by mlaas4hep-ml
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command chose its status (and printed why)
  } catch (const CLI::ParseError& e) {
    // A misspelt command ("mlaas4hep dumo f.root") names the one meant instead of CLI11's
    // "A subcommand is required".
    if (argc > 1 && argv[1][0] != '-') {
      std::vector<std::string> names;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
      if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
        const std::string close = m4h::did_you_mean(argv[1], {names.begin(), names.end()});
        std::fprintf(stderr, "mlaas4hep: error: unknown command '%s'%s (mlaas4hep --help lists them)\n", argv[1],
                     close.c_str());
        return 2;
      }
    }
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const m4h::Error& e) {
    std::cout.flush();
    std::fprintf(stderr, "mlaas4hep: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::fprintf(stderr, "mlaas4hep: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
