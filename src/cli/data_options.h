// The dataset options shared by `specs` and `export`: --files, --labels, --params, --preproc
// (the reference workflow's arguments) and the remote-access options.
#pragma once

#include "data/pipeline.h"

namespace CLI {
class App;
}

namespace m4h::cli {

void add_data_options(CLI::App& cmd, data::PipelineRequest& request);

// With params' "verbose": the branches left out and the params keys not used, on stderr.
void print_notes(const data::Pipeline& pipeline);

}  // namespace m4h::cli
