// The dataset options shared by `specs` and `export`: --files, --labels, --params, --preproc
// (the reference workflow's arguments) and the remote-access options.
#pragma once

#include <string>

#include "data/pipeline.h"

namespace CLI {
class App;
}

namespace m4h::cli {

void add_data_options(CLI::App& cmd, data::PipelineRequest& request);

// On stderr: params keys that look misspelt (data::misspelt_param_keys); with params' "verbose"
// also the branches left out and every params key not used.
void print_notes(const data::Pipeline& pipeline);
// The misspelt-key warnings of the params.json at `path`, before a command that reads it later
// (train); a file that does not parse says nothing here: the command reports it.
void warn_misspelt_params(const std::string& path);

}  // namespace m4h::cli
