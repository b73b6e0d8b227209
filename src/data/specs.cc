#include "data/specs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/error.h"
#include "data/block_reader.h"

namespace m4h::data {

namespace {

using Json = nlohmann::ordered_json;

template <typename T>
void scan_values(const T* p, int64_t n, BranchStats& s) {
  if (n <= 0) return;
  int64_t bad = 0;
  double lo, hi;
  if constexpr (std::is_floating_point_v<T>) {
    T l = std::numeric_limits<T>::infinity(), h = -l;
    for (int64_t i = 0; i < n; ++i) {
      const T x = p[i];
      const bool ok = (x - x) == 0;  // false for NaN and infinities; no branch, so it vectorises
      l = ok && x < l ? x : l;
      h = ok && x > h ? x : h;
      bad += !ok;
    }
    lo = l;
    hi = h;
  } else {
    T l = p[0], h = p[0];
    for (int64_t i = 1; i < n; ++i) {
      l = p[i] < l ? p[i] : l;
      h = p[i] > h ? p[i] : h;
    }
    lo = static_cast<double>(l);
    hi = static_cast<double>(h);
  }
  BranchStats add;
  add.values = n - bad;
  add.nonfinite = bad;
  add.minv = lo;
  add.maxv = hi;
  s.merge(add);
}

double number_of(const Json& v, const std::string& what, std::string_view origin) {
  if (!v.is_number())
    throw Error(ErrorCode::kInvalidArgument, std::string(origin) + ": " + what + " must be a number");
  return v.get<double>();
}

std::vector<std::string> names_of(const Json& j, const char* key, std::string_view origin) {
  if (!j.contains(key) || !j[key].is_array())
    throw Error(ErrorCode::kInvalidArgument,
                std::string(origin) + ": \"" + key + "\" must be a list of branch names");
  std::vector<std::string> out;
  for (const Json& v : j[key]) {
    if (!v.is_string())
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(origin) + ": \"" + key + "\" must list strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

const Json& object_of(const Json& j, const char* key, std::string_view origin) {
  if (!j.contains(key) || !j[key].is_object())
    throw Error(ErrorCode::kInvalidArgument,
                std::string(origin) + ": \"" + key + "\" must be an object keyed by branch");
  return j[key];
}

}  // namespace

void BranchStats::merge(const BranchStats& o) {
  if (o.values) {
    minv = values ? std::min(minv, o.minv) : o.minv;
    maxv = values ? std::max(maxv, o.maxv) : o.maxv;
  }
  values += o.values;
  nonfinite += o.nonfinite;
  jdim = std::max(jdim, o.jdim);
  over_cap += o.over_cap;
}

void accumulate(const ColumnView& view, int64_t begin, int64_t end, int64_t cap, BranchStats& s) {
  if (end <= begin) return;
  int64_t vbegin = begin, vend = end;
  if (view.jagged()) {
    const int64_t* off = view.offsets;
    int64_t longest = 0, over = 0;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t len = off[i + 1] - off[i];
      longest = std::max(longest, len);
      over += cap >= 0 && len > cap;
    }
    s.jdim = std::max(s.jdim, longest);
    s.over_cap += over;
    vbegin = off[begin];
    vend = off[end];
  }
  visit_values(view, [&](const auto* p) { scan_values(p + vbegin, vend - vbegin, s); });
}

double global_nan_value(double minv, double maxv) {
  return minv == maxv ? maxv : (0 - minv) / (maxv - minv);
}

double file_nan_value(double minv, double maxv) {
  return minv == maxv ? 0.0 : (0 - minv) / (maxv - minv);
}

std::vector<std::string> Specs::features() const {
  std::vector<std::string> out = fkeys;
  out.insert(out.end(), jkeys.begin(), jkeys.end());
  return out;
}

std::vector<std::string> Specs::feature_names() const {
  std::vector<std::string> out = fkeys;
  for (size_t k = 0; k < jkeys.size(); ++k)
    for (int64_t i = 0; i < jdim[k]; ++i) out.push_back(jkeys[k] + "_" + std::to_string(i));
  return out;
}

int64_t Specs::width() const {
  int64_t w = static_cast<int64_t>(fkeys.size());
  for (int64_t d : jdim) w += d;
  return w;
}

std::optional<int64_t> Specs::events_of(const std::string& file) const {
  for (const FileSpecs& f : files)
    if (f.name == file) return f.events;
  return std::nullopt;
}

std::string Specs::to_json() const {
  const std::vector<std::string> keys = features();
  const size_t nf = fkeys.size();
  Json j;
  Json jd = Json::object(), mn = Json::object(), mx = Json::object(), nans = Json::object();
  for (size_t k = 0; k < jkeys.size(); ++k) jd[jkeys[k]] = jdim[k];
  for (size_t k = 0; k < keys.size(); ++k) {
    mn[keys[k]] = minv[k];
    mx[keys[k]] = maxv[k];
    nans[keys[k]] = global_nan_value(minv[k], maxv[k]);
  }
  j["jdim"] = jd;
  j["minv"] = mn;
  j["maxv"] = mx;
  j["fkeys"] = fkeys;
  j["jkeys"] = jkeys;
  j["nans"] = nans;
  Json ev = Json::object();
  ev["total"] = total_events;
  for (const FileSpecs& f : files) ev[f.name] = f.events;
  j["events"] = ev;
  j["feature_names"] = feature_names();

  Json report = Json::object();
  report["jdim_max"] = jdim_max;
  Json measured = Json::object(), trunc = Json::object(), bad = Json::object();
  for (size_t k = 0; k < jkeys.size(); ++k) {
    measured[jkeys[k]] = jdim_measured[k];
    trunc[jkeys[k]] = truncated[k];
  }
  for (size_t k = 0; k < keys.size(); ++k) bad[keys[k]] = nonfinite[k];
  report["jdim_measured"] = measured;
  report["truncated_events"] = trunc;
  report["nonfinite_values"] = bad;
  j["report"] = report;

  Json per_file = Json::object();
  for (const FileSpecs& f : files) {
    Json fj;
    if (f.stats.size() == keys.size()) {
      Json fjd = Json::object(), fmn = Json::object(), fmx = Json::object(), fnans = Json::object();
      for (size_t k = 0; k < keys.size(); ++k) {
        const BranchStats& s = f.stats[k];
        if (k >= nf) fjd[keys[k]] = jdim_max >= 0 ? std::min(s.jdim, jdim_max) : s.jdim;
        fmn[keys[k]] = s.min_or_default();
        fmx[keys[k]] = s.max_or_default();
        fnans[keys[k]] = file_nan_value(s.min_or_default(), s.max_or_default());
      }
      fj["jdim"] = fjd;
      fj["minv"] = fmn;
      fj["maxv"] = fmx;
      fj["fkeys"] = fkeys;
      fj["jkeys"] = jkeys;
      fj["nans"] = fnans;
    }
    fj["entries"] = f.entries;
    fj["events"] = f.events;
    per_file[f.name] = fj;
  }
  j["files"] = per_file;
  j["provenance"] = provenance.empty() ? Json(nullptr) : Json::parse(provenance);
  return j.dump(1) + "\n";
}

Specs Specs::from_json(std::string_view text, std::string_view origin) {
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string(origin) + ": malformed JSON: " + e.what());
  }
  if (!j.is_object())
    throw Error(ErrorCode::kInvalidArgument, std::string(origin) + ": must hold a JSON object");
  const std::string o(origin);
  Specs s;
  s.fkeys = names_of(j, "fkeys", origin);
  s.jkeys = names_of(j, "jkeys", origin);
  const Json& mn = object_of(j, "minv", origin);
  const Json& mx = object_of(j, "maxv", origin);
  const Json& jd = s.jkeys.empty() && !j.contains("jdim") ? Json::object() : object_of(j, "jdim", origin);
  for (const std::string& k : s.features()) {
    if (!mn.contains(k) || !mx.contains(k))
      throw Error(ErrorCode::kInvalidArgument, o + ": no minv/maxv for '" + k + "'");
    s.minv.push_back(number_of(mn[k], "minv of '" + k + "'", origin));
    s.maxv.push_back(number_of(mx[k], "maxv of '" + k + "'", origin));
  }
  for (const std::string& k : s.jkeys) {
    if (!jd.contains(k) || !jd[k].is_number_integer() || jd[k].get<int64_t>() < 0)
      throw Error(ErrorCode::kInvalidArgument, o + ": jdim of '" + k + "' must be an integer >= 0");
    s.jdim.push_back(jd[k].get<int64_t>());
  }
  s.jdim_measured = s.jdim;
  s.truncated.assign(s.jkeys.size(), 0);
  s.nonfinite.assign(s.features().size(), 0);
  if (j.contains("report") && j["report"].is_object()) {
    const Json& r = j["report"];
    if (r.contains("jdim_max") && r["jdim_max"].is_number_integer()) s.jdim_max = r["jdim_max"].get<int64_t>();
    for (size_t k = 0; k < s.jkeys.size(); ++k) {
      if (r.contains("jdim_measured") && r["jdim_measured"].contains(s.jkeys[k]))
        s.jdim_measured[k] = r["jdim_measured"][s.jkeys[k]].get<int64_t>();
      if (r.contains("truncated_events") && r["truncated_events"].contains(s.jkeys[k]))
        s.truncated[k] = r["truncated_events"][s.jkeys[k]].get<int64_t>();
    }
  }
  if (j.contains("events") && j["events"].is_object()) {
    for (const auto& [name, v] : j["events"].items()) {
      if (!v.is_number_integer())
        throw Error(ErrorCode::kInvalidArgument, o + ": events of '" + name + "' must be an integer");
      if (name == "total") {
        s.total_events = v.get<int64_t>();
        continue;
      }
      FileSpecs f;
      f.name = name;
      f.events = v.get<int64_t>();
      if (j.contains("files") && j["files"].contains(name) && j["files"][name].contains("entries"))
        f.entries = j["files"][name]["entries"].get<int64_t>();
      s.files.push_back(std::move(f));
    }
  }
  if (j.contains("provenance") && j["provenance"].is_object()) s.provenance = j["provenance"].dump();
  return s;
}

Specs Specs::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open specs file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return from_json(text, path);
}

void Specs::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const std::string text = to_json();
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw Error(ErrorCode::kIo, tmp + ": cannot write specs");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::kIo, path + ": cannot write specs: " + ec.message());
}

std::string provenance_of(const std::vector<InputFile>& files, const BranchPlan& plan,
                          const Preprocess& preproc, const Params& params) {
  Json p;
  p["format"] = 1;
  p["tree"] = params.branch;
  Json fl = Json::array();
  for (const InputFile& f : files) {
    Json e;
    e["name"] = f.name;
    e["size"] = f.size;
    e["mtime_ns"] = f.mtime_ns;
    fl.push_back(e);
  }
  p["files"] = fl;
  Json b;
  b["fkeys"] = plan.fkeys;
  b["jkeys"] = plan.jkeys;
  b["read"] = plan.read;
  p["branches"] = b;
  p["preprocessing"] = preproc.canonical();
  p["jdim_max"] = params.jdim_max;
  return p.dump();
}

Specs compute_specs(const std::vector<InputFile>& files, const BranchPlan& plan,
                    const Preprocess& preproc, const Params& params, ThreadPool* pool,
                    const std::function<void(int64_t)>& progress) {
  Specs s;
  s.fkeys = plan.fkeys;
  s.jkeys = plan.jkeys;
  s.jdim_max = params.jdim_max;
  const size_t nf = plan.fkeys.size(), n = nf + plan.jkeys.size();
  std::vector<BranchStats> all(n);
  int64_t done = 0;
  for (const InputFile& file : files) {
    FileSpecs fs;
    fs.name = file.name;
    fs.entries = file.tree->entries();
    fs.stats.assign(n, BranchStats{});
    BlockReader reader(file, plan, preproc, kSpecsBlockEntries, pool);
    while (auto block = reader.next()) {
      fs.events += block->events;
      auto work = [&](size_t k) {
        accumulate(block->features[k], 0, block->events, k >= nf ? params.jdim_max : -1, fs.stats[k]);
      };
      if (pool) pool->parallel_for(n, work);
      else for (size_t k = 0; k < n; ++k) work(k);
      done += block->raw_entries;
      if (progress) progress(done);
    }
    for (size_t k = 0; k < n; ++k) all[k].merge(fs.stats[k]);
    s.total_events += fs.events;
    s.files.push_back(std::move(fs));
  }
  for (size_t k = 0; k < n; ++k) {
    s.minv.push_back(all[k].min_or_default());
    s.maxv.push_back(all[k].max_or_default());
    s.nonfinite.push_back(all[k].nonfinite);
    if (k >= nf) {
      s.jdim_measured.push_back(all[k].jdim);
      s.jdim.push_back(params.jdim_max >= 0 ? std::min(all[k].jdim, params.jdim_max) : all[k].jdim);
      s.truncated.push_back(all[k].over_cap);
    }
  }
  s.provenance = provenance_of(files, plan, preproc, params);
  return s;
}

}  // namespace m4h::data
