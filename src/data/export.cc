#include "data/export.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/thread_pool.h"
#include "data/npy.h"

namespace m4h::data {

namespace {

using Json = nlohmann::ordered_json;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw Error(ErrorCode::kIo, path + ": cannot write");
}

std::string chunk_name(const std::string& dir, const char* what, int64_t index, const char* ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "_%05lld.", static_cast<long long>(index));
  return dir + "/" + what + buf + ext;
}

template <typename T>
void append_number(std::string& out, T v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void write_chunk(const std::string& dir, const Chunk& c, const std::vector<std::string>& names,
                 ExportFormat format) {
  const int64_t shape2[] = {c.rows, c.width};
  const int64_t shape1[] = {c.rows};
  std::vector<int64_t> origin(static_cast<size_t>(c.rows) * 2);
  for (int64_t r = 0; r < c.rows; ++r) {
    origin[2 * r] = c.file[r];
    origin[2 * r + 1] = c.entry[r];
  }
  if (format == ExportFormat::kNpy) {
    const int64_t shape_origin[] = {c.rows, 2};
    write_npy(chunk_name(dir, "features", c.index, "npy"), shape2, c.features.data());
    write_npy(chunk_name(dir, "mask", c.index, "npy"), shape2, c.mask.data());
    write_npy(chunk_name(dir, "labels", c.index, "npy"), shape1, c.labels.data());
    write_npy(chunk_name(dir, "split", c.index, "npy"), shape1, c.split.data());
    write_npy(chunk_name(dir, "origin", c.index, "npy"), shape_origin, origin.data());
    return;
  }
  write_text(chunk_name(dir, "features", c.index, "csv"), csv_of(c.features.data(), c.rows, c.width, names));
  std::string m;
  for (size_t k = 0; k < names.size(); ++k) m += (k ? "," : "") + names[k];
  m += '\n';
  for (int64_t r = 0; r < c.rows; ++r) {
    for (int64_t k = 0; k < c.width; ++k) {
      if (k) m += ',';
      m += static_cast<char>('0' + c.mask[r * c.width + k]);
    }
    m += '\n';
  }
  write_text(chunk_name(dir, "mask", c.index, "csv"), m);
  std::string l = "label,split,file,entry\n";
  for (int64_t r = 0; r < c.rows; ++r) {
    append_number(l, c.labels[r]);
    l += ',';
    append_number(l, static_cast<int>(c.split[r]));
    l += ',';
    append_number(l, c.file[r]);
    l += ',';
    append_number(l, c.entry[r]);
    l += '\n';
  }
  write_text(chunk_name(dir, "labels", c.index, "csv"), l);
}

}  // namespace

std::string csv_of(const float* values, int64_t rows, int64_t cols,
                   const std::vector<std::string>& header) {
  std::string out;
  out.reserve(static_cast<size_t>(rows * cols * 10 + 64));
  for (size_t k = 0; k < header.size(); ++k) out += (k ? "," : "") + header[k];
  out += '\n';
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      if (k) out += ',';
      append_number(out, values[r * cols + k]);
    }
    out += '\n';
  }
  return out;
}

ExportSummary export_dataset(const Pipeline& p, const std::string& dir, ExportFormat format,
                             const std::function<void(const ExportProgress&)>& progress) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kIo, dir + ": cannot create the output folder: " + ec.message());
  const Params& prm = p.dataset.params;
  std::vector<int64_t> events;
  {
    auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(prm.threads));
    events = events_after_cuts(p.files, p.plan, p.specs, p.preproc, pool.get());
  }
  const auto t0 = std::chrono::steady_clock::now();
  BatchProducer producer(p.files, p.plan, p.specs, p.preproc, prm, events);
  const FeatureLayout& layout = producer.layout();
  const std::vector<std::string> names = layout.names();
  write_text(dir + "/feature_names.json", Json(names).dump() + "\n");

  ExportSummary s;
  ExportProgress pr;
  pr.total = producer.planner().total();
  Json chunks = Json::array();
  Chunk c;
  while (producer.next(c)) {
    write_chunk(dir, c, names, format);
    chunks.push_back(Json{{"index", c.index}, {"rows", c.rows}});
    ++s.chunks;
    s.events += c.rows;
    pr.events = s.events;
    pr.chunks = s.chunks;
    pr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress) progress(pr);
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.report = producer.report();

  Json j;
  j["format"] = format == ExportFormat::kNpy ? "npy" : "csv";
  j["rows"] = s.events;
  j["width"] = layout.width;
  j["fkeys"] = layout.fkeys;
  j["jkeys"] = layout.jkeys;
  Json jd = Json::object();
  for (size_t k = 0; k < layout.jkeys.size(); ++k) jd[layout.jkeys[k]] = layout.jdim[k];
  j["jdim"] = jd;
  j["mask"] = layout.mask == MaskConvention::kValid ? "valid: 1 = a real value, 0 = padding or non-finite"
                                                    : "padded: 1 = padding or non-finite, 0 = a real value";
  j["padding_value"] = layout.padding;
  j["split"] = Json{{"0", "train"}, {"1", "validation"}, {"2", "test"}};
  j["files"] = Json::array();
  for (size_t f = 0; f < p.files.size(); ++f)
    j["files"].push_back(Json{{"index", f},
                              {"name", p.files[f].name},
                              {"label", p.files[f].label},
                              {"events_after_cuts", events[f]},
                              {"events_used", s.report.events_per_file[f]}});
  Json by = Json::object();
  for (const auto& [label, n] : s.report.split_by_label)
    by[std::to_string(label)] = Json{{"train", n[0]}, {"validation", n[1]}, {"test", n[2]}};
  j["split_by_label"] = by;
  Json trunc = Json::object(), bad = Json::object();
  for (size_t k = 0; k < layout.jkeys.size(); ++k) trunc[layout.jkeys[k]] = s.report.assembly.truncated[k];
  const std::vector<std::string> keys = p.specs.features();
  for (size_t k = 0; k < keys.size(); ++k) bad[keys[k]] = s.report.assembly.nonfinite[k];
  j["truncated_events"] = trunc;
  j["nonfinite_values"] = bad;
  j["chunks"] = chunks;
  j["seconds"] = s.seconds;
  write_text(dir + "/export.json", j.dump(1) + "\n");
  return s;
}

}  // namespace m4h::data
