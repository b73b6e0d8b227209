#include "data/inputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/suggest.h"
#include "root/file.h"

namespace m4h::data {

namespace {

using Json = nlohmann::json;

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string item = trim(s.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_regular_file(path, ec);
}

std::string read_text_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::kNotFound, path + ": cannot open " + std::string(what));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = trim(std::string_view(text).substr(start, end - start));
    if (!line.empty() && line[0] != '#') out.push_back(std::move(line));
    start = end + 1;
  }
  return out;
}

// Reads params.json values with the type checks the reference leaves to Python.
class Reader {
 public:
  Reader(const Json& j, std::string_view origin) : j_(j), origin_(origin) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorCode::kInvalidArgument, origin_ + ": \"" + key + "\" " + what);
  }

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  int64_t integer(const char* key, int64_t def) const {
    if (!has(key)) return def;
    const Json& v = j_.at(key);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
    }
    if (v.is_string()) {  // "1000" in hand-written files
      std::string s = trim(v.get<std::string>());
      int64_t x = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return x;
    }
    fail(key, "must be an integer, not " + v.dump());
  }

  double number(const char* key, double def) const {
    if (!has(key)) return def;
    const Json& v = j_.at(key);
    if (v.is_number()) return v.get<double>();
    fail(key, "must be a number, not " + v.dump());
  }

  bool boolean(const char* key, bool def) const {
    if (!has(key)) return def;
    const Json& v = j_.at(key);
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer()) return v.get<int64_t>() != 0;
    if (v.is_string()) {  // the reference's preproc.json writes "True"/"False"
      std::string s = trim(v.get<std::string>());
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      if (s == "true" || s == "1") return true;
      if (s == "false" || s == "0" || s.empty()) return false;
    }
    fail(key, "must be true or false, not " + v.dump());
  }

  std::string string(const char* key, std::string def) const {
    if (!has(key)) return def;
    const Json& v = j_.at(key);
    if (v.is_string()) return v.get<std::string>();
    fail(key, "must be a string, not " + v.dump());
  }

  // A list of names: a JSON list of strings, or a comma string ("" = empty, as the reference's
  // examples write "selected_branches": ""). With `allow_file`, a string naming an existing file
  // is read one name per line (the reference's exclude_branches).
  std::optional<std::vector<std::string>> names(const char* key, bool allow_file) const {
    if (!has(key)) return std::nullopt;
    const Json& v = j_.at(key);
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      if (allow_file && is_regular_file(trim(s))) return lines_of(read_text_file(trim(s), key));
      return split_commas(s);
    }
    if (v.is_array()) {
      std::vector<std::string> out;
      for (const Json& item : v) {
        if (!item.is_string()) fail(key, "must list branch names (strings), not " + item.dump());
        std::string name = trim(item.get<std::string>());
        if (!name.empty()) out.push_back(std::move(name));
      }
      return out;
    }
    fail(key, "must be a list of names or a comma-separated string, not " + v.dump());
  }

 private:
  const Json& j_;
  std::string origin_;
};

}  // namespace

Params parse_params(std::string_view json_text, std::string_view origin) {
  Json j;
  try {
    j = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string(origin) + ": malformed JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error(ErrorCode::kInvalidArgument, std::string(origin) + ": must hold a JSON object");
  Reader r(j, origin);
  Params p;
  p.nevts = r.integer("nevts", p.nevts);
  if (p.nevts < -1 || p.nevts == 0) r.fail("nevts", "must be -1 (all events) or positive");
  p.chunk_size = r.integer("chunk_size", p.chunk_size);
  if (p.chunk_size < -1 || p.chunk_size == 0) r.fail("chunk_size", "must be -1 (one chunk) or positive");
  p.epochs = r.integer("epochs", p.epochs);
  if (p.epochs < 1) r.fail("epochs", "must be at least 1");
  p.batch_size = r.integer("batch_size", p.batch_size);
  if (p.batch_size < 1) r.fail("batch_size", "must be at least 1");
  p.branch = trim(r.string("branch", p.branch));
  if (p.branch.empty()) r.fail("branch", "must name a tree");
  if (auto v = r.names("selected_branches", false)) p.selected_branches = std::move(*v);
  if (auto v = r.names("exclude_branches", true)) p.exclude_branches = std::move(*v);
  // The reference falls back to run,event,luminosityBlock when identifier is empty.
  if (auto v = r.names("identifier", false); v && !v->empty()) p.identifier = std::move(*v);
  if (r.has("redirector")) p.redirector = trim(r.string("redirector", ""));
  if (r.has("verbose"))  // an integer level in the reference; accept true/false too
    p.verbose = j["verbose"].is_boolean() ? int64_t{j["verbose"].get<bool>()} : r.integer("verbose", 0);
  p.shuffle = r.boolean("shuffle", p.shuffle);

  p.seed = static_cast<uint64_t>(r.integer("seed", static_cast<int64_t>(p.seed)));
  p.validation_fraction = r.number("validation_fraction", p.validation_fraction);
  p.test_fraction = r.number("test_fraction", p.test_fraction);
  if (!(p.validation_fraction >= 0 && p.validation_fraction <= 1))
    r.fail("validation_fraction", "must be in [0, 1]");
  if (!(p.test_fraction >= 0 && p.test_fraction <= 1)) r.fail("test_fraction", "must be in [0, 1]");
  if (p.validation_fraction + p.test_fraction > 1)
    r.fail("validation_fraction", "plus test_fraction must not exceed 1");
  p.threads = r.integer("threads", p.threads);
  if (p.threads < 0 || p.threads > 1024) r.fail("threads", "must be in [0, 1024] (0 = one per core)");
  p.jdim_max = r.integer("jdim_max", p.jdim_max);
  if (p.jdim_max < -1) r.fail("jdim_max", "must be -1 (no cap) or >= 0");
  if (r.has("mask")) {
    std::string m = r.string("mask", "");
    if (m == "valid") p.mask = MaskConvention::kValid;
    else if (m == "padded") p.mask = MaskConvention::kPadded;
    else r.fail("mask", "must be \"valid\" (1 = a real value) or \"padded\" (1 = padding, the reference's)");
  }
  // The reference's "nan" (the value of missing entries) is our padding value when numeric.
  if (r.has("nan") && j["nan"].is_number()) p.padding_value = static_cast<float>(j["nan"].get<double>());
  if (r.has("padding_value")) {
    double v = r.number("padding_value", 0);
    if (!std::isfinite(v)) r.fail("padding_value", "must be finite");
    p.padding_value = static_cast<float>(v);
  }
  p.chunks_in_flight = r.integer("chunks_in_flight", p.chunks_in_flight);
  if (p.chunks_in_flight < 1 || p.chunks_in_flight > 1024) r.fail("chunks_in_flight", "must be in [1, 1024]");

  const auto& known = data_param_keys();
  for (const auto& [key, value] : j.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) p.ignored_keys.push_back(key);
  return p;
}

const std::vector<std::string_view>& data_param_keys() {
  static const std::vector<std::string_view> keys = {
      "nevts", "chunk_size", "epochs", "batch_size", "branch", "selected_branches",
      "exclude_branches", "identifier", "redirector", "verbose", "shuffle", "seed",
      "validation_fraction", "test_fraction", "threads", "jdim_max", "mask", "nan",
      "padding_value", "chunks_in_flight"};
  return keys;
}

const std::vector<std::string_view>& training_param_keys() {
  // train::parse_train_settings reads these (a test checks each one).
  static const std::vector<std::string_view> keys = {
      "mode", "optimizer", "learning_rate", "lr", "weight_decay", "min_delta", "patience",
      "torch_threads", "cache_mb", "baseline_features", "class_weights"};
  return keys;
}

std::vector<std::string> misspelt_param_keys(const Params& p, std::string_view origin) {
  std::vector<std::string_view> known = data_param_keys();
  known.insert(known.end(), training_param_keys().begin(), training_param_keys().end());
  std::vector<std::string> out;
  for (const std::string& key : p.ignored_keys) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string close = did_you_mean(key, known);
    if (!close.empty()) out.push_back(std::string(origin) + ": key '" + key + "' is not used" + close);
  }
  return out;
}

Params load_params(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(ErrorCode::kNotFound, path + ": no such params file");
  return parse_params(read_text_file(path, "params file"), path);
}

// A ROOT file starts with "root"; given alone, it is a list of one, not a list file.
bool is_root_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "root";
}

std::vector<std::string> read_list_arg(const std::string& arg) {
  if (is_regular_file(arg)) {
    if (is_root_file(arg)) return {arg};
    return lines_of(read_text_file(arg, "list file"));
  }
  return split_commas(arg);
}

std::vector<int64_t> read_labels_arg(const std::string& arg) {
  std::vector<int64_t> out;
  for (const std::string& item : read_list_arg(arg)) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size())
      throw Error(ErrorCode::kInvalidArgument,
                  "labels: '" + item + "' is not an integer class (labels name one class per file)");
    out.push_back(v);
  }
  return out;
}

Dataset make_dataset(std::vector<std::string> files, std::vector<int64_t> labels, Params params) {
  if (files.empty()) throw Error(ErrorCode::kInvalidArgument, "files: the file list is empty");
  if (labels.size() != files.size())
    throw Error(ErrorCode::kInvalidArgument,
                "labels: " + std::to_string(labels.size()) + " label(s) for " +
                    std::to_string(files.size()) + " file(s); give one label per file");
  return Dataset{std::move(files), std::move(labels), std::move(params)};
}

io::SourceOptions source_options_for(const std::string& file, const Params& params,
                                     io::SourceOptions base) {
  if (!base.redirector.empty()) return base;  // given on the command line: it wins
  if (params.redirector) base.redirector = *params.redirector;
  else if (file.rfind("/store/", 0) == 0) base.redirector = kReferenceRedirector;
  return base;
}

std::vector<InputFile> open_inputs(const Dataset& dataset, const io::SourceOptions& base) {
  std::vector<InputFile> out;
  out.reserve(dataset.files.size());
  for (size_t i = 0; i < dataset.files.size(); ++i) {
    const std::string& name = dataset.files[i];
    const io::SourceOptions options = source_options_for(name, dataset.params, base);
    InputFile f;
    f.name = name;
    f.label = dataset.labels[i];
    auto file = with_context(name, [&] { return root::File::open(name, options); });
    f.size = file->source().size();
    io::ResolvedUrl where = io::resolve_url(name, options);
    struct stat st {};
    if (where.kind == io::SourceKind::kLocal && ::stat(where.url.c_str(), &st) == 0)
      f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    try {
      f.tree = root::Tree::load(file, dataset.params.branch);
    } catch (Error& e) {
      if (e.code() != ErrorCode::kNotFound) throw e.add_context(name);
      std::string trees;
      for (const auto& t : root::tree_paths(*file)) trees += (trees.empty() ? "" : ", ") + t;
      throw Error(ErrorCode::kNotFound, name + ": no tree '" + dataset.params.branch + "' (" +
                                            (trees.empty() ? "the file holds no trees"
                                                           : "trees in the file: " + trees) +
                                            "); set \"branch\" in params.json");
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace m4h::data
