// The dataset options shared by `specs` and `export`: --files, --labels, --params, --preproc
// (the reference workflow's arguments) and the remote-access options.
#pragma once

#include "data/pipeline.h"

namespace CLI {
class App;
}

namespace m4h::cli {

void add_data_options(CLI::App& cmd, data::PipelineRequest& request);

}  // namespace m4h::cli
