// The remote-access options shared by ls, show and dump: --redirector, --timeout, --retries,
// --coalesce-gap (see README, "CLI contract").
#pragma once

#include "io/source.h"

namespace CLI {
class App;
}

namespace m4h::cli {

void add_source_options(CLI::App& cmd, io::SourceOptions& options);

}  // namespace m4h::cli
