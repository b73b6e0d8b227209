// OIP v2 over HTTP/REST (the KServe "predict v2" protocol, as Triton speaks it): health, server
// and model metadata, inference (JSON and binary tensors) and the model repository extension.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "http/errors.h"
#include "serve/oip.h"
#include "serve/routes.h"

namespace m4h::serve {
namespace {

using nlohmann::json;

const char* state_name(ModelState s) {
  switch (s) {
    case ModelState::kReady: return "READY";
    case ModelState::kLoading: return "LOADING";
    case ModelState::kUnavailable: return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

json tensors(const std::vector<TensorInfo>& infos) {
  json out = json::array();
  for (const TensorInfo& t : infos) out.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
  return out;
}

std::string version_param(const http::Request& req) {
  auto it = req.params.find("version");
  return it == req.params.end() ? std::string{} : it->second;
}

std::optional<uint64_t> header_length(const http::Request& req) {
  std::string_view v = req.header("inference-header-content-length");
  if (v.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > (uint64_t{1} << 40)) {
      throw Error(ErrorCode::kInvalidArgument, "Inference-Header-Content-Length '" + std::string(v) + "' is not a byte count");
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// 200 when the model is loaded; 400 when the repository knows it but it is not ready (OIP:
// "4xx: not ready"); 404 when nobody knows it.
http::Response model_ready(RouteContext& ctx, const std::string& name, const std::string& version) {
  try {
    ctx.repository.get(name, version);
    return json_response({{"name", name}, {"ready", true}});
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNotFound) throw;
    for (const ModelStatus& s : ctx.repository.index()) {
      if (s.name == name) {
        return http::error_response(400, "model '" + name + "' is not ready: " +
                                             (s.reason.empty() ? state_name(s.state) : s.reason));
      }
    }
    throw;
  }
}

// Scores of the kept rows -> one row per event, NaN for the events the cuts rejected.
std::vector<float> expand_rejected(const std::vector<float>& scores, const std::vector<int64_t>& kept,
                                   int64_t events, int64_t outputs) {
  std::vector<float> out(static_cast<size_t>(events * outputs), std::numeric_limits<float>::quiet_NaN());
  for (size_t r = 0; r < kept.size(); ++r)
    std::copy_n(scores.begin() + static_cast<int64_t>(r) * outputs, outputs, out.begin() + kept[r] * outputs);
  return out;
}

void infer(RouteContext& ctx, http::Request& req, http::Responder respond) {
  const std::string name = req.params.at("name");
  const std::string version = version_param(req);
  std::shared_ptr<const Model> model = ctx.repository.get(name, version);
  oip::InferRequest request = oip::parse_infer_request(req.body, header_length(req));
  oip::ModelInputs inputs = oip::to_model_inputs(request, model->metadata());
  // With rejected_events "nan", rows the cuts dropped are put back as NaN after inference.
  std::vector<int64_t> kept;
  const bool expand = inputs.raw && request.rejected_as_nan;
  const int64_t events = inputs.rows();
  InputBatch batch = inputs.raw ? model->normalise(inputs.events, expand ? &kept : nullptr) : std::move(inputs.batch);
  request.inputs.clear();  // the answer needs the id and the outputs asked for, not the data

  const ModelMetadata& md = model->metadata();
  oip::InferResponse head;
  head.model_name = md.name.empty() ? name : md.name;
  head.model_version = md.version;
  head.id = request.id;
  if (!md.outputs.empty()) head.output_name = md.outputs[0].name;
  const int64_t outputs = std::max<int64_t>(1, model->outputs());
  oip::check_requested_outputs(head.output_name, request);  // fails before the model runs
  infer_async(ctx, name, version, std::move(batch), std::move(respond),
              [head = std::move(head), request = std::move(request), outputs, expand, events,
               kept = std::move(kept)](std::vector<float>& scores) mutable {
                if (expand) scores = expand_rejected(scores, kept, events, outputs);
                head.shape = {static_cast<int64_t>(scores.size()) / outputs, outputs};
                head.scores = std::move(scores);
                oip::EncodedResponse enc = oip::encode_infer_response(head, request);
                http::Response r;
                r.body = std::move(enc.body);
                r.content_type = enc.content_type;
                if (enc.header_length) {
                  r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(*enc.header_length));
                }
                return r;
              });
}

}  // namespace

void add_oip_routes(http::Router& router, RouteContext& ctx) {
  auto empty_ok = [](http::Request&, http::Responder respond) {
    http::Response r;
    r.content_type = "text/plain";
    respond(std::move(r));
  };
  router.add("GET", "/v2/health/live", empty_ok);
  router.add("GET", "/v2/health/ready", empty_ok);
  router.add("GET", "/v2", [](http::Request&, http::Responder respond) {
    respond(json_response({{"name", "mlaas4hep"},
                           {"version", "0.1.0"},
                           {"extensions", {"binary_tensor_data", "model_repository"}}}));
  });

  auto metadata = [&ctx](http::Request& req, http::Responder respond) {
    const std::string name = req.params.at("name");
    auto model = ctx.repository.get(name, version_param(req));
    const ModelMetadata& md = model->metadata();
    json versions = json::array();
    for (const ModelStatus& s : ctx.repository.index()) {
      if (s.name == name) versions.push_back(s.version);
    }
    if (versions.empty()) versions.push_back(md.version);
    respond(json_response({{"name", md.name.empty() ? name : md.name},
                           {"versions", versions},
                           {"platform", md.platform},
                           {"inputs", tensors(md.inputs)},
                           {"outputs", tensors(md.outputs)},
                           // not in OIP's schema, which allows more keys: what raw inputs need
                           {"parameters", {{"feature_names", md.feature_names}, {"branches", md.branches}}}}));
  };
  router.add("GET", "/v2/models/{name}", metadata);
  router.add("GET", "/v2/models/{name}/versions/{version}", metadata);

  auto ready = [&ctx](http::Request& req, http::Responder respond) {
    respond(model_ready(ctx, req.params.at("name"), version_param(req)));
  };
  router.add("GET", "/v2/models/{name}/ready", ready);
  router.add("GET", "/v2/models/{name}/versions/{version}/ready", ready);

  auto infer_route = [&ctx](http::Request& req, http::Responder respond) { infer(ctx, req, std::move(respond)); };
  router.add("POST", "/v2/models/{name}/infer", infer_route);
  router.add("POST", "/v2/models/{name}/versions/{version}/infer", infer_route);

  router.add("POST", "/v2/repository/index", [&ctx](http::Request& req, http::Responder respond) {
    bool ready_only = false;
    if (!req.body.empty()) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) throw Error(ErrorCode::kInvalidArgument, "repository index: body is not a JSON object");
      if (body.contains("ready")) {
        if (!body["ready"].is_boolean()) throw Error(ErrorCode::kInvalidArgument, "repository index: 'ready' is not a boolean");
        ready_only = body["ready"].get<bool>();
      }
    }
    run_blocking(ctx, std::move(respond), [&ctx, ready_only] {
      json out = json::array();
      for (const ModelStatus& s : ctx.repository.index()) {
        if (ready_only && s.state != ModelState::kReady) continue;
        json m{{"name", s.name}, {"version", s.version}, {"state", state_name(s.state)}};
        if (!s.reason.empty()) m["reason"] = s.reason;
        out.push_back(std::move(m));
      }
      return json_response(out);
    });
  });
  router.add("POST", "/v2/repository/models/{name}/load", [&ctx](http::Request& req, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx, name = req.params.at("name")] {
      ctx.repository.load(name);
      return json_response(json::object());
    });
  });
  router.add("POST", "/v2/repository/models/{name}/unload", [&ctx](http::Request& req, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx, name = req.params.at("name")] {
      ctx.repository.unload(name);
      return json_response(json::object());
    });
  });
}

}  // namespace m4h::serve
