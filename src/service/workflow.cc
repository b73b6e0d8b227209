#include "service/workflow.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

#include "core/error.h"

namespace m4h::service {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorCode::kInvalidArgument, "workflow: " + message); }

bool is_url(std::string_view s) {
  return s.rfind("root://", 0) == 0 || s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

bool has_control_chars(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

bool has_dot_dot(const fs::path& p) {
  for (const auto& part : p)
    if (part == "..") return true;
  return false;
}

std::string read_upload_file(const std::string& dir, const std::string& name, bool required) {
  const fs::path p = fs::path(dir) / name;
  std::error_code ec;
  if (dir.empty() || !fs::is_regular_file(p, ec)) {
    if (required) bad("'" + name + "' is neither in the request nor in the upload");
    return {};
  }
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The lines of a files.txt / labels.txt: '#' comments and blank lines skipped.
std::vector<std::string> list_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
    if (a != std::string::npos) out.push_back(line.substr(a, b - a + 1));
  }
  return out;
}

// A string field holding a list: "a,b" or "a\nb".
std::vector<std::string> split_list(const std::string& s) {
  std::string t = s;
  for (char& c : t)
    if (c == ',') c = '\n';
  return list_lines(t);
}

std::string resolve_file(const std::string& f, const WorkflowContext& ctx, size_t index) {
  const std::string where = "files[" + std::to_string(index) + "] '" + f + "'";
  if (f.empty() || f.size() > 4096 || has_control_chars(f)) bad(where + ": not a file name or URL");
  if (is_url(f)) return f;
  if (f.find("://") != std::string::npos) bad(where + ": only root://, http:// and https:// URLs are read");
  const fs::path p(f);
  if (has_dot_dot(p)) bad(where + ": '..' is not allowed in file names");
  if (p.is_absolute()) {
    for (const auto& root : ctx.data_roots) {
      const fs::path r = fs::path(root).lexically_normal();
      const auto rel = p.lexically_normal().lexically_relative(r);
      if (!rel.empty() && *rel.begin() != ".." && !has_dot_dot(rel)) {
        std::error_code ec;
        if (!fs::is_regular_file(p, ec)) bad(where + ": no such file");
        return p.lexically_normal().string();
      }
    }
    bad(where + ": local paths must lie under a data root of this server" +
        std::string(ctx.data_roots.empty() ? " (it has none: upload the file or give a URL)" : ""));
  }
  if (ctx.upload_dir.empty()) bad(where + ": a relative name needs an upload (\"upload\": ID) holding it");
  const fs::path in_upload = fs::path(ctx.upload_dir) / p;
  std::error_code ec;
  if (!fs::is_regular_file(in_upload, ec)) bad(where + ": not in the upload");
  return in_upload.lexically_normal().string();
}

int64_t parse_memory_mb(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) bad("resources.memory: a number of MiB or a string like \"512M\" or \"4G\"");
  const std::string s = v.get<std::string>();
  size_t used = 0;
  int64_t n = -1;
  try {
    n = std::stoll(s, &used);
  } catch (...) {
    bad("resources.memory: '" + s + "' is not a size");
  }
  const std::string unit = s.substr(used);
  if (unit == "" || unit == "M" || unit == "MB" || unit == "Mi" || unit == "MiB") return n;
  if (unit == "G" || unit == "GB" || unit == "Gi" || unit == "GiB") return n * 1024;
  bad("resources.memory: unknown unit in '" + s + "' (M or G)");
}

}  // namespace

bool is_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.find("..") != std::string_view::npos) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

std::string random_hex(int digits) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < digits; ++i, v >>= 4) {
    if (i % 16 == 15) v = rng();
    s += hex[v & 15];
  }
  return s;
}

std::string upload_of(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("upload")) return {};
  if (!j["upload"].is_string() || !is_safe_name(j["upload"].get<std::string>())) bad("upload: not an upload id");
  return j["upload"].get<std::string>();
}

Workflow parse_workflow(std::string_view body, const WorkflowContext& ctx) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad("the body is not a JSON object");
  static const std::set<std::string> known{"name", "upload", "files", "labels", "model", "params", "preproc", "resources"};
  for (const auto& [k, v] : j.items())
    if (!known.count(k)) bad("unknown field '" + k + "' (name, upload, files, labels, model, params, preproc, resources)");
  Workflow w;
  if (j.contains("name")) {
    if (!j["name"].is_string() || !is_safe_name(j["name"].get<std::string>()))
      bad("name: letters, digits, '_', '.', '-' (at most 64, starting with a letter or digit)");
    w.name = j["name"];
  }
  w.upload = upload_of(body);
  const std::string& up = ctx.upload_dir;

  // files
  std::vector<std::string> files;
  if (!j.contains("files")) {
    files = list_lines(read_upload_file(up, "files.txt", true));
  } else if (j["files"].is_string()) {
    files = split_list(j["files"].get<std::string>());
  } else if (j["files"].is_array()) {
    for (const auto& f : j["files"]) {
      if (!f.is_string()) bad("files: a list of strings");
      files.push_back(f.get<std::string>());
    }
  } else {
    bad("files: a list of file names or URLs");
  }
  if (files.empty()) bad("files: no files");
  if (files.size() > ctx.max_files) bad("files: more than " + std::to_string(ctx.max_files));
  for (size_t i = 0; i < files.size(); ++i) w.files.push_back(resolve_file(files[i], ctx, i));

  // labels
  json labels;
  if (!j.contains("labels")) {
    for (const auto& l : list_lines(read_upload_file(up, "labels.txt", true))) labels.push_back(l);
  } else if (j["labels"].is_string()) {
    for (const auto& l : split_list(j["labels"].get<std::string>())) labels.push_back(l);
  } else {
    labels = j["labels"];
  }
  if (!labels.is_array()) bad("labels: a list of integers, one per file");
  for (const auto& l : labels) {
    if (l.is_number_integer()) {
      w.labels.push_back(l.get<int64_t>());
      continue;
    }
    const std::string s = l.is_string() ? l.get<std::string>() : l.dump();
    size_t used = 0;
    try {
      w.labels.push_back(std::stoll(s, &used));
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != s.size()) bad("labels: '" + s + "' is not an integer");
  }
  if (w.labels.size() != w.files.size())
    bad("labels: " + std::to_string(w.labels.size()) + " labels for " + std::to_string(w.files.size()) + " files");

  // model
  auto model_in_upload = [&](const std::string& name) {
    if (!is_safe_name(name)) return false;
    std::error_code ec;
    if (up.empty() || !fs::is_regular_file(fs::path(up) / name, ec)) return false;
    w.model_file = (fs::path(up) / name).lexically_normal().string();
    return true;
  };
  if (!j.contains("model")) {
    if (!model_in_upload("model.json") && !model_in_upload("model.pt"))
      bad("model: neither in the request nor in the upload (model.json or model.pt)");
  } else if (j["model"].is_object()) {
    w.model_json = j["model"].dump();
  } else if (j["model"].is_string()) {
    const std::string m = j["model"].get<std::string>();
    if (!model_in_upload(m)) {
      const json inline_model = json::parse(m, nullptr, false);
      if (inline_model.is_discarded() || !inline_model.is_object())
        bad("model: '" + m.substr(0, 100) + "' is neither a file of the upload nor a JSON model description");
      w.model_json = inline_model.dump();
    }
  } else {
    bad("model: a JSON model description or the name of a file in the upload");
  }

  // params (required) and preproc (optional)
  auto object_field = [&](const char* key, const char* file, bool required) -> std::string {
    if (j.contains(key) && !j[key].is_null()) {
      json v = j[key];
      if (v.is_string()) v = json::parse(v.get<std::string>(), nullptr, false);
      if (!v.is_object()) bad(std::string(key) + ": a JSON object");
      return v.dump();
    }
    const std::string text = read_upload_file(up, file, required);
    if (text.empty()) return {};
    const json v = json::parse(text, nullptr, false);
    if (!v.is_object()) bad(std::string("the upload's ") + file + " is not a JSON object");
    return v.dump();
  };
  w.params_json = object_field("params", "params.json", true);
  w.preproc_json = object_field("preproc", "preproc.json", false);

  // resources
  if (j.contains("resources")) {
    const json& r = j["resources"];
    if (!r.is_object()) bad("resources: an object (cpus, memory, device)");
    for (const auto& [k, v] : r.items())
      if (k != "cpus" && k != "memory" && k != "device") bad("resources: unknown field '" + k + "' (cpus, memory, device)");
    if (r.contains("cpus")) {
      if (!r["cpus"].is_number_integer() || r["cpus"].get<int64_t>() < 1 || r["cpus"].get<int64_t>() > ctx.max_cpus)
        bad("resources.cpus: an integer from 1 to " + std::to_string(ctx.max_cpus));
      w.resources.cpus = r["cpus"].get<int>();
    }
    if (r.contains("memory")) {
      w.resources.memory_mb = parse_memory_mb(r["memory"]);
      if (w.resources.memory_mb < 64) bad("resources.memory: at least 64 MiB");
      if (ctx.max_memory_mb > 0 && w.resources.memory_mb > ctx.max_memory_mb)
        bad("resources.memory: at most " + std::to_string(ctx.max_memory_mb) + " MiB on this server");
    }
    if (r.contains("device")) {
      const std::string d = r["device"].is_string() ? r["device"].get<std::string>() : "";
      if (d != "cpu" && d != "cuda" && d != "auto") bad("resources.device: cpu, cuda or auto");
      w.resources.device = d;
    }
  }
  return w;
}

std::string to_json(const Workflow& w) {
  json j = {{"name", w.name},
            {"upload", w.upload},
            {"files", w.files},
            {"labels", w.labels},
            {"model_file", w.model_file},
            {"model_json", w.model_json},
            {"params_json", w.params_json},
            {"preproc_json", w.preproc_json},
            {"resources",
             {{"cpus", w.resources.cpus}, {"memory_mb", w.resources.memory_mb}, {"device", w.resources.device}}}};
  return j.dump();
}

Workflow workflow_from_json(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorCode::kCorrupt, "stored workflow: not a JSON object");
  try {
    Workflow w;
    w.name = j.at("name");
    w.upload = j.at("upload");
    w.files = j.at("files").get<std::vector<std::string>>();
    w.labels = j.at("labels").get<std::vector<int64_t>>();
    w.model_file = j.at("model_file");
    w.model_json = j.at("model_json");
    w.params_json = j.at("params_json");
    w.preproc_json = j.at("preproc_json");
    w.resources.cpus = j.at("resources").at("cpus");
    w.resources.memory_mb = j.at("resources").at("memory_mb");
    w.resources.device = j.at("resources").at("device");
    return w;
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kCorrupt, std::string("stored workflow: ") + e.what());
  }
}

}  // namespace m4h::service
