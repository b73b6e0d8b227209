// Setting up a run from what the user gives (the reference's workflow arguments): the dataset,
// the pre-processing, the files opened, the branch plan, and the specs, which are forced
// (--specs), reused from a cache while their provenance still matches the inputs, or computed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/branches.h"
#include "data/inputs.h"
#include "data/preprocess.h"
#include "data/specs.h"
#include "io/source.h"

namespace m4h::data {

struct PipelineRequest {
  std::string files;        // a list file or a comma list
  std::string labels;       // a list file or a comma list
  std::string params;       // params.json; empty: the defaults
  std::string preproc;      // preproc.json; empty: none
  std::string specs;        // forced specs; empty: reuse the cache or compute
  std::string specs_cache;  // specs reused when fresh and saved when computed; may be empty
  bool force_compute = false;  // compute even when the cache is fresh
  io::SourceOptions source;    // timeouts, retries (the redirector comes from params)
};

enum class SpecsOrigin { kComputed, kCached, kForced };

// Everything a run needs. Not movable: producers keep references into it.
struct Pipeline {
  Dataset dataset;
  Preprocess preproc;
  std::vector<InputFile> files;
  BranchPlan plan;
  Specs specs;
  SpecsOrigin origin = SpecsOrigin::kComputed;

  Pipeline() = default;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
};

// `progress` (may be empty) gets the entries read by the specs pass and the entries in total.
// Throws m4h::Error: kInvalidArgument (bad params, labels, JSON), kNotFound (missing file, tree,
// branch), kIo, kCorrupt, kUnsupported — each naming what is wrong.
std::unique_ptr<Pipeline> prepare_pipeline(
    const PipelineRequest& request,
    const std::function<void(int64_t done, int64_t total)>& progress = {});

// The pipeline of some of the request's files (`only`: indices into its file list, ascending)
// with `specs` as they are (computed over every file elsewhere): a distributed rank's share. Opens
// only those files. Throws as prepare_pipeline does, and kInvalidArgument for a bad index.
std::unique_ptr<Pipeline> prepare_pipeline_part(const PipelineRequest& request, Specs specs,
                                                const std::vector<size_t>& only);

// Removes `names` from the specs' features (identifier branches in a reference's global specs).
void drop_features(Specs& specs, const std::vector<std::string>& names);

}  // namespace m4h::data
