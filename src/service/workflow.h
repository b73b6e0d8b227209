// A submitted training workflow: what `POST /api/v1/jobs` accepts (the reference MLaaS4HEP
// server's files, labels, model, params and preproc, plus resources and a model name), checked
// field by field and resolved against the user's upload, then stored with the job as JSON. Every
// string in it is data: it only ever becomes a file's content or one element of an argument
// vector, never part of a shell line or a path outside the job's and the upload's folders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "service/job_store.h"

namespace m4h::service {

struct Workflow {
  std::string name;                // the model's name on the inference server
  std::string upload;              // the upload whose files it uses ("" when none)
  std::vector<std::string> files;  // URLs (root://, http://, https://) or absolute local paths
  std::vector<int64_t> labels;     // one per file
  std::string model_file;          // absolute path of the model file (in the upload), or
  std::string model_json;          // a model description given inline (JSON text)
  std::string params_json;         // params.json's content
  std::string preproc_json;        // preproc.json's content ("" when none)
  Resources resources;
};

struct WorkflowContext {
  std::string upload_dir;                // the folder of the workflow's upload, "" when none
  std::vector<std::string> data_roots;   // local folders users may name files under
  int max_cpus = 1;                      // what one job may ask for
  int64_t max_memory_mb = 0;             // 0: no cap
  size_t max_files = 10000;
};

// Parses and checks a submitted workflow. Fields missing from the request are taken from the
// upload, as the reference reads them from its uploaded folder: files.txt, labels.txt,
// params.json, preproc.json, and the model (model.json, model.pt or model.xgb.json, or the name
// given as "model"). Throws m4h::Error kInvalidArgument naming the field (or upload file).
Workflow parse_workflow(std::string_view body, const WorkflowContext& context);

// The upload id named by a request body ("" when none), checked: [A-Za-z0-9_-]{1,64}.
std::string upload_of(std::string_view body);

// The stored form (JSON) and back.
std::string to_json(const Workflow& w);
Workflow workflow_from_json(std::string_view json);

// Names of models, uploads and artifacts: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, no "..".
bool is_safe_name(std::string_view name);
// `digits` random hex digits, for names nobody chose (default model names, upload ids, temp files).
std::string random_hex(int digits);

}  // namespace m4h::service
