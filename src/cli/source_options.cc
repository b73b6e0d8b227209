#include "cli/source_options.h"

#include <CLI/CLI.hpp>

namespace m4h::cli {

void add_source_options(CLI::App& cmd, io::SourceOptions& o) {
  cmd.add_option("--redirector", o.redirector,
                 "URL put in front of a FILE that is neither a URL nor a local file, e.g. "
                 "root://cms-xrd-global.cern.ch (default: none)");
  cmd.add_option("--timeout", o.timeout_s, "seconds each remote request may take (default 60)")
      ->check(CLI::Range(0.001, 65535.0));
  cmd.add_option("--retries", o.retries, "times a failed remote request is retried, with backoff (default 3)")
      ->check(CLI::Range(0, 100));
  cmd.add_option("--coalesce-gap", o.coalesce_gap,
                 "read byte ranges closer than this as one request (default: 16 KiB local, 64 KiB remote; "
                 "0: no coalescing)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
}

}  // namespace m4h::cli
