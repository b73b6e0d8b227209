// The inputs of a data run as the reference MLaaS4HEP (vkuznet/MLaaS4HEP, branch uproot4) takes
// them: the file list (files.txt or a comma list), one integer label per file (labels.txt or a
// comma list) and params.json with the reference's keys and defaults, plus keys of our own
// (seed, split fractions, threads, jdim_max, mask convention, padding value, chunks in flight).
// Opening the files (local, URL or redirector-prefixed) and finding their tree happens here too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.h"
#include "root/tree.h"

namespace m4h::data {

// What a mask value of 1 means. kValid (ours, the default): 1 = a real value, 0 = padding or a
// missing (non-finite) value, the attention-mask convention. kPadded (the reference's
// `np.isnan(x) * 1`): 1 = padding or missing, 0 = a real value.
enum class MaskConvention { kValid, kPadded };

// The reference's default redirector. It applies only to CMS logical file names ("/store/...")
// that are not local files when params.json has no "redirector" key: the reference put it in
// front of every missing path, which turns a typo into a network error.
inline constexpr const char* kReferenceRedirector = "root://cms-xrd-global.cern.ch";

struct Params {
  // Reference keys (generator.py RootDataGenerator, models.py train_model), same defaults.
  int64_t nevts = -1;        // events used in total, split over files by their events after cuts
  int64_t chunk_size = 1000;  // events per chunk; -1 = everything in one chunk
  int64_t epochs = 10;
  int64_t batch_size = 50;   // train_model's default (the generator's 256 only sized __len__)
  std::string branch = "Events";  // the tree's name or path in each file
  std::vector<std::string> selected_branches;  // empty: every branch of the tree
  std::vector<std::string> exclude_branches;   // list, comma string, or a file of names
  std::vector<std::string> identifier = {"run", "event", "luminosityBlock"};  // never features
  std::optional<std::string> redirector;  // absent: kReferenceRedirector for "/store/" paths only
  int64_t verbose = 0;
  bool shuffle = true;  // shuffle the rows of each chunk

  // Our keys.
  uint64_t seed = 21;                 // row shuffling and the split (21: the reference's random_state)
  double validation_fraction = 0.16;  // the reference: 20% of the 80% left after the test set
  double test_fraction = 0.2;
  int64_t threads = 0;                // threads in total, 0 = one per core
  int64_t jdim_max = -1;              // cap on each jagged branch's padded length; -1 = none
  MaskConvention mask = MaskConvention::kValid;
  float padding_value = 0.0f;  // written where a jagged list ends early or a value is not finite
  int64_t chunks_in_flight = 2;  // chunks read or assembled ahead of the consumer

  // Keys present in params.json that we read but do not use ("hist", "split", ...), for -v.
  std::vector<std::string> ignored_keys;
};

// Parses params.json text. `origin` names it in errors. Throws m4h::Error kInvalidArgument for
// malformed JSON, a value of the wrong type or out of range.
Params parse_params(std::string_view json_text, std::string_view origin = "params.json");
// Reads and parses a params.json file (kNotFound when it does not exist).
Params load_params(const std::string& path);

// The keys params.json may hold: the data layer's (parse_params), and the training layer's, which
// src/train reads from the same file. Other keys are the reference's own (hist, split, ...),
// which are not used, or typos.
const std::vector<std::string_view>& data_param_keys();
const std::vector<std::string_view>& training_param_keys();
// One line for each key of `p.ignored_keys` that no layer reads but that is close to a key one
// does: "params.json: key 'chunk_szie' is not used; did you mean 'chunk_size'?". A misspelt key
// would otherwise be ignored without a word, as the reference ignores unknown keys.
std::vector<std::string> misspelt_param_keys(const Params& p, std::string_view origin = "params.json");

// The reference's list arguments: an existing file holds one item per line (lines starting with
// '#' and blank lines skipped, surrounding spaces trimmed), unless it is a ROOT file itself (a
// list of one); anything else is a comma list.
std::vector<std::string> read_list_arg(const std::string& arg);
// Labels: the same, each item an integer class. Throws kInvalidArgument naming a bad item.
std::vector<int64_t> read_labels_arg(const std::string& arg);

struct Dataset {
  std::vector<std::string> files;  // as given (paths, URLs or logical file names)
  std::vector<int64_t> labels;     // one per file
  Params params;
};

// Builds and checks a dataset: throws kInvalidArgument for an empty file list or a label count
// that differs from the file count.
Dataset make_dataset(std::vector<std::string> files, std::vector<int64_t> labels, Params params);

// The source options for one input file: `base` (timeouts, retries, and a redirector given on
// the command line, which wins) plus params' redirector rule.
io::SourceOptions source_options_for(const std::string& file, const Params& params,
                                     io::SourceOptions base = {});

// One input file opened, with its tree.
struct InputFile {
  std::string name;  // as given in the file list
  int64_t label = 0;
  std::shared_ptr<root::Tree> tree;
  uint64_t size = 0;       // bytes
  int64_t mtime_ns = -1;   // modification time of a local file, -1 when unknown (remote)
};

// Opens every file of the dataset and loads params.branch from each. Throws m4h::Error naming
// the file: kNotFound (missing file, or no such tree, listing the trees it has), kIo, kCorrupt.
std::vector<InputFile> open_inputs(const Dataset& dataset, const io::SourceOptions& base = {});

}  // namespace m4h::data
