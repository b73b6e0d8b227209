#include <CLI/CLI.hpp>
#include <malloc.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
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
  m4h::cli::add_train(app);
  m4h::cli::add_plot(app);
  m4h::cli::add_serve(app);
  m4h::cli::add_client(app);
  m4h::cli::add_predict(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command chose its status (and printed why)
  } catch (const CLI::ParseError& e) {
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
