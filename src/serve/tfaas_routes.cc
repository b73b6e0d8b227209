// The TFaaS API (vkuznet/TFaaS) on our repository, for its existing clients:
//   POST /json, /predict/json   {"keys": [...], "values": [...] | [[...], ...], "model": "m"}
//                               -> [p, ...] for one row, [[p, ...], ...] for a batch
//   POST /proto, /predict/proto  tfaas.proto Row -> Predictions (one Class per model output)
//   POST /upload                 a bundle .tar.gz: multipart file part, or a raw gzip body;
//                                name from the form field "name"/"model" or ?name=
//   DELETE /delete/{model}, GET /models, GET /status
// Keys: when they equal the model's feature_names (same names, same order) the values are
// features already normalised; otherwise each key is a raw branch and the model normalises
// (a jagged branch's value is a list in JSON; /proto carries flat branches only).
// No file serving at all: TFaaS served its static folder and its path traversal with it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http/errors.h"
#include "http/multipart.h"
#include "serve/json_scan.h"
#include "serve/routes.h"
#include "serve/tfaas.pb.h"

namespace m4h::serve {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }

// The model a request names, or the only one there is.
std::string pick_model(RouteContext& ctx, const std::string& asked) {
  if (!asked.empty()) return asked;
  auto index = ctx.repository.index();
  if (index.size() == 1) return index[0].name;
  bad("'model' missing (the server holds " + std::to_string(index.size()) + " models)");
}

// rows of key -> values (one value for a flat branch, several for a jagged one).
using Rows = std::vector<std::vector<std::vector<double>>>;

InputBatch to_batch(const Model& model, const std::vector<std::string>& keys, const Rows& rows) {
  const ModelMetadata& md = model.metadata();
  if (keys == md.feature_names) {
    InputBatch b;
    b.rows = static_cast<int64_t>(rows.size());
    b.width = static_cast<int64_t>(keys.size());
    b.x.reserve(rows.size() * keys.size());
    for (const auto& row : rows) {
      for (size_t k = 0; k < keys.size(); ++k) {
        if (row[k].size() != 1) bad("key '" + keys[k] + "': a feature takes one value");
        b.x.push_back(static_cast<float>(row[k][0]));
      }
    }
    return b;
  }
  std::vector<RawEvent> events(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t k = 0; k < keys.size(); ++k) events[r][keys[k]] = rows[r][k];
  }
  return model.normalise(events);
}

// The common TFaaS body: {"keys": [names], "values": [one number per key] or [[one number per
// key], ...]} and optionally "model", read by the JSON scanner without a document. nullopt for
// anything else (lists as values, other members, escapes, errors), which the full parser reads.
struct SimpleTfaasBody {
  std::vector<std::string_view> keys;
  std::string model;
  std::vector<float> x;  // rows x keys
  int64_t rows = 0;
  bool batch = false;  // values was a list of rows
};

bool scan_numbers(JsonScanner& s, std::vector<float>& out, std::size_t& n) {
  n = 0;
  do {
    double v = 0;
    bool integral = false, negative = false;
    if (!s.number(v, integral, negative)) return false;
    out.push_back(static_cast<float>(v));  // as the full path: the double, then a float
    ++n;
  } while (s.eat(','));
  return true;
}

std::optional<SimpleTfaasBody> scan_tfaas_body(std::string_view body) {
  JsonScanner s{body.data(), body.data() + body.size()};
  SimpleTfaasBody out;
  bool has_keys = false, has_values = false, has_model = false;
  if (!s.eat('{')) return std::nullopt;
  do {
    std::string_view member;
    if (!s.string(member) || !s.eat(':')) return std::nullopt;
    if (member == "keys" && !has_keys) {
      if (!s.eat('[')) return std::nullopt;
      do {
        std::string_view k;
        if (!s.string(k)) return std::nullopt;
        out.keys.push_back(k);
      } while (s.eat(','));
      if (!s.eat(']')) return std::nullopt;
      has_keys = true;
    } else if (member == "model" && !has_model) {
      std::string_view m;
      if (!s.string(m)) return std::nullopt;
      out.model.assign(m);
      has_model = true;
    } else if (member == "values" && !has_values && has_keys) {
      const std::size_t width = out.keys.size();
      std::size_t n = 0;
      if (!s.eat('[')) return std::nullopt;
      out.batch = s.eat('[');
      if (out.batch) {
        do {
          if (out.rows > 0 && !s.eat('[')) return std::nullopt;
          if (!scan_numbers(s, out.x, n) || n != width || !s.eat(']')) return std::nullopt;
          ++out.rows;
        } while (s.eat(','));
      } else {
        if (!scan_numbers(s, out.x, n) || n != width) return std::nullopt;
        out.rows = 1;
      }
      if (!s.eat(']')) return std::nullopt;
      has_values = true;
    } else {
      return std::nullopt;
    }
  } while (s.eat(','));
  if (!s.eat('}') || !has_values || !s.at_end()) return std::nullopt;
  return out;
}

// TFaaS answers a row with a list of scores, a batch with a list of such lists.
json tfaas_scores(const std::vector<float>& scores, bool batch, std::size_t outputs) {
  if (!batch) return json(scores);
  json out = json::array();
  for (std::size_t i = 0; i + outputs <= scores.size(); i += outputs) {
    out.push_back(std::vector<float>(scores.begin() + static_cast<ptrdiff_t>(i),
                                     scores.begin() + static_cast<ptrdiff_t>(i + outputs)));
  }
  return out;
}

bool same_keys(const std::vector<std::string_view>& keys, const std::vector<std::string>& names) {
  return keys.size() == names.size() && std::equal(keys.begin(), keys.end(), names.begin());
}

std::vector<double> json_value(const json& v, const std::string& key) {
  if (v.is_number()) return {v.get<double>()};
  if (v.is_array()) {
    std::vector<double> out;
    for (const json& e : v) {
      if (!e.is_number()) bad("key '" + key + "': list values must be numbers");
      out.push_back(e.get<double>());
    }
    return out;
  }
  bad("key '" + key + "': value must be a number or a list of numbers");
}

void predict_json(RouteContext& ctx, http::Request& req, http::Responder respond) {
  if (auto simple = scan_tfaas_body(req.body)) {
    const std::string name = pick_model(ctx, simple->model);
    auto model = ctx.repository.get(name);
    if (same_keys(simple->keys, model->metadata().feature_names)) {
      InputBatch input;
      input.rows = simple->rows;
      input.width = static_cast<int64_t>(simple->keys.size());
      input.x = std::move(simple->x);
      const std::size_t outputs = static_cast<std::size_t>(std::max<int64_t>(1, model->outputs()));
      infer_async(ctx, name, "", std::move(input), std::move(respond),
                  [batch = simple->batch, outputs](std::vector<float>& scores) {
                    return json_response(tfaas_scores(scores, batch, outputs));
                  });
      return;
    }
  }
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception& e) {
    bad(std::string("malformed JSON: ") + e.what());
  }
  if (!body.is_object()) bad("body is not a JSON object");
  if (!body.contains("keys") || !body["keys"].is_array()) bad("'keys' missing or not a list");
  if (!body.contains("values") || !body["values"].is_array()) bad("'values' missing or not a list");
  std::vector<std::string> keys;
  for (const json& k : body["keys"]) {
    if (!k.is_string()) bad("'keys' must be strings");
    keys.push_back(k.get<std::string>());
  }
  std::string asked;
  if (body.contains("model")) {
    if (!body["model"].is_string()) bad("'model' is not a string");
    asked = body["model"].get<std::string>();
  }
  const json& values = body["values"];
  // A batch when every element is a list of one value per key; a row otherwise.
  bool batch = !values.empty();
  for (const json& v : values) batch = batch && v.is_array() && v.size() == keys.size();
  std::vector<const json*> row_list;
  if (batch) {
    for (const json& row : values) row_list.push_back(&row);
  } else {
    row_list.push_back(&values);
  }
  for (const json* row : row_list) {
    if (row->size() != keys.size()) {
      bad(std::to_string(keys.size()) + " keys but " + std::to_string(row->size()) + " values");
    }
  }
  const std::string name = pick_model(ctx, asked);
  auto model = ctx.repository.get(name);
  InputBatch input;
  if (keys == model->metadata().feature_names) {
    // Features as they are, one number each: straight into the batch (no per-value lists).
    input.rows = static_cast<int64_t>(row_list.size());
    input.width = static_cast<int64_t>(keys.size());
    input.x.reserve(row_list.size() * keys.size());
    for (const json* row : row_list) {
      for (size_t k = 0; k < keys.size(); ++k) {
        const json& v = (*row)[k];
        if (v.is_number()) {
          input.x.push_back(static_cast<float>(v.get<double>()));
        } else {
          const std::vector<double> list = json_value(v, keys[k]);  // its error, or a list
          if (list.size() != 1) bad("key '" + keys[k] + "': a feature takes one value");
          input.x.push_back(static_cast<float>(list[0]));
        }
      }
    }
  } else {
    Rows rows;
    for (const json* row : row_list) {
      auto& out = rows.emplace_back();
      for (size_t k = 0; k < keys.size(); ++k) out.push_back(json_value((*row)[k], keys[k]));
    }
    input = to_batch(*model, keys, rows);
  }
  const size_t outputs = static_cast<size_t>(std::max<int64_t>(1, model->outputs()));
  infer_async(ctx, name, "", std::move(input), std::move(respond),
              [batch, outputs](std::vector<float>& scores) {
                return json_response(tfaas_scores(scores, batch, outputs));
              });
}

void predict_proto(RouteContext& ctx, http::Request& req, http::Responder respond) {
  tfaas::Row row;
  if (!row.ParseFromString(req.body)) bad("body is not a protobuf Row (tfaas.proto)");
  if (row.key_size() != row.value_size()) {
    bad(std::to_string(row.key_size()) + " keys but " + std::to_string(row.value_size()) + " values");
  }
  std::vector<std::string> keys(row.key().begin(), row.key().end());
  Rows rows(1);
  for (float v : row.value()) rows[0].push_back({v});
  const std::string name = pick_model(ctx, row.model());
  auto model = ctx.repository.get(name);
  InputBatch input = to_batch(*model, keys, rows);
  infer_async(ctx, name, "", std::move(input), std::move(respond), [](std::vector<float>& scores) {
    tfaas::Predictions p;
    for (size_t i = 0; i < scores.size(); ++i) {
      tfaas::Class* c = p.add_prediction();
      c->set_label(std::to_string(i));
      c->set_probability(scores[i]);
    }
    http::Response r;
    r.content_type = "application/octet-stream";
    r.body = p.SerializeAsString();
    return r;
  });
}

// The bundle and the model name of an upload.
std::pair<std::string_view, std::string> upload_parts(const http::Request& req) {
  std::string name = req.query_param("name");
  const std::string boundary = http::multipart_boundary(req.header("content-type"));
  if (boundary.empty()) {
    if (req.body.empty()) bad("upload: empty body");
    return {req.body, name};
  }
  std::string_view bundle;
  for (const http::FormPart& p : http::parse_multipart(req.body, boundary)) {
    if (!p.filename.empty()) {
      bundle = p.data;
    } else if ((p.name == "name" || p.name == "model") && name.empty()) {
      name = std::string(p.data);
    }
  }
  if (bundle.empty()) bad("upload: no file part (send the bundle .tar.gz as a form file)");
  return {bundle, name};
}

void upload(RouteContext& ctx, http::Request& req, http::Responder respond) {
  auto [bundle, name] = upload_parts(req);
  if (name.empty()) bad("upload: no model name (form field 'name' or ?name=)");
  check_model_name(name);
  if (bundle.size() < 2 || static_cast<unsigned char>(bundle[0]) != 0x1f ||
      static_cast<unsigned char>(bundle[1]) != 0x8b) {
    bad("upload: the bundle is not gzip data (expected a .tar.gz of the bundle folder)");
  }
  // Spooled to a file of our own naming: the client's filename is never used as a path.
  namespace fs = std::filesystem;
  const fs::path dir = ctx.options.upload_dir.empty() ? fs::temp_directory_path() : fs::path(ctx.options.upload_dir);
  static std::atomic<uint64_t> counter{0};
  const fs::path file = dir / ("m4h-upload-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tar.gz");
  {
    std::ofstream out(file, std::ios::binary);
    out.write(bundle.data(), static_cast<std::streamsize>(bundle.size()));
    if (!out) throw Error(ErrorCode::kIo, "upload: cannot write " + file.string());
  }
  run_blocking(ctx, std::move(respond), [&ctx, file, name = name] {
    struct Cleanup {
      fs::path f;
      ~Cleanup() {
        std::error_code ec;
        fs::remove(f, ec);
      }
    } cleanup{file};
    const std::string version = ctx.repository.add_bundle(name, file.string());
    return json_response({{"name", name}, {"version", version}}, 201);
  });
}

json index_json(RouteContext& ctx) {
  json out = json::array();
  for (const ModelStatus& s : ctx.repository.index()) {
    json m{{"name", s.name}, {"version", s.version}, {"ready", s.state == ModelState::kReady}};
    if (!s.reason.empty()) m["reason"] = s.reason;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void add_tfaas_routes(http::Router& router, RouteContext& ctx) {
  auto json_route = [&ctx](http::Request& req, http::Responder respond) { predict_json(ctx, req, std::move(respond)); };
  auto proto_route = [&ctx](http::Request& req, http::Responder respond) { predict_proto(ctx, req, std::move(respond)); };
  router.add("POST", "/json", json_route);
  router.add("POST", "/predict/json", json_route);
  router.add("POST", "/proto", proto_route);
  router.add("POST", "/predict/proto", proto_route);
  router.add("POST", "/upload", [&ctx](http::Request& req, http::Responder respond) { upload(ctx, req, std::move(respond)); });
  router.add("DELETE", "/delete/{name}", [&ctx](http::Request& req, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx, name = req.params.at("name")] {
      ctx.repository.remove(name);
      return json_response({{"deleted", name}});
    });
  });
  router.add("GET", "/models", [&ctx](http::Request&, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx] { return json_response(index_json(ctx)); });
  });
  static const auto started = std::chrono::steady_clock::now();
  router.add("GET", "/status", [&ctx](http::Request&, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx] {
      json models = index_json(ctx);
      int64_t ready = 0;
      for (const json& m : models) ready += m["ready"].get<bool>();
      const double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return json_response({{"status", "ok"}, {"version", "0.1.0"}, {"uptime_seconds", up},
                            {"models", models.size()}, {"models_ready", ready}});
    });
  });
}

}  // namespace m4h::serve
