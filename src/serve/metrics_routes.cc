// GET /metrics: Prometheus text format (0.0.4) with Triton's metric names, so dashboards made
// for Triton work: per model and version from Repository::counters(), plus our HTTP answers by
// status. Counter keys "NAME" or "NAME/VERSION" (the version then comes from the key, else from
// the index).
#include <nlohmann/json.hpp>

#include "serve/routes.h"

namespace m4h::serve {
namespace {

std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string metrics_text(RouteContext& ctx) {
  std::map<std::string, std::string> versions;
  for (const ModelStatus& s : ctx.repository.index()) versions[s.name] = s.version;
  struct Row {
    std::string labels;
    ModelCounters c;
  };
  std::vector<Row> rows;
  for (const auto& [key, c] : ctx.repository.counters()) {
    std::string name = key, version;
    if (const size_t slash = key.rfind('/'); slash != std::string::npos) {
      name = key.substr(0, slash);
      version = key.substr(slash + 1);
    } else if (auto it = versions.find(key); it != versions.end()) {
      version = it->second;
    }
    rows.push_back({"{model=\"" + label(name) + "\",version=\"" + label(version) + "\"}", c});
  }
  std::string out;
  auto family = [&](const char* metric, const char* help, int64_t ModelCounters::*field) {
    out += std::string("# HELP ") + metric + " " + help + "\n# TYPE " + metric + " counter\n";
    for (const Row& r : rows) out += metric + r.labels + " " + std::to_string(r.c.*field) + "\n";
  };
  family("nv_inference_request_success", "Number of successful inference requests", &ModelCounters::request_success);
  family("nv_inference_request_failure", "Number of failed inference requests", &ModelCounters::request_failure);
  family("nv_inference_count", "Number of inferences performed (rows)", &ModelCounters::inference_count);
  family("nv_inference_exec_count", "Number of model executions (batches)", &ModelCounters::execution_count);
  family("nv_inference_queue_duration_us", "Cumulative time requests spent waiting in the queue", &ModelCounters::queue_us);
  family("nv_inference_compute_infer_duration_us", "Cumulative model compute time", &ModelCounters::compute_us);
  if (ctx.http_counters) {
    out += "# HELP m4h_http_requests_total HTTP requests answered, by status\n# TYPE m4h_http_requests_total counter\n";
    for (const auto& [status, n] : ctx.http_counters->snapshot()) {
      out += "m4h_http_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
  }
  return out;
}

}  // namespace

void add_metrics_routes(http::Router& router, RouteContext& ctx) {
  router.add("GET", "/metrics", [&ctx](http::Request&, http::Responder respond) {
    run_blocking(ctx, std::move(respond), [&ctx] {
      http::Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_text(ctx);
      return r;
    });
  });
}

}  // namespace m4h::serve
