// Shared by the route files of serve/ (not a public header): what every route needs, and the
// helpers that keep io threads free.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "http/router.h"
#include "serve/model.h"
#include "serve/service.h"

namespace m4h::serve {

struct RouteContext {
  Repository& repository;
  ThreadPool& waiters;
  std::shared_ptr<http::StatusCounters> http_counters;
  ServiceOptions options;
};

http::Response json_response(const nlohmann::json& body, int status = 200);

// Runs fn() on a waiter thread and answers what it returns (or its error).
void run_blocking(RouteContext& ctx, http::Responder respond, std::function<http::Response()> fn);

// Submits the batch to the model's batcher and answers on_scores(scores), run on the
// connection's io thread (or the error). rows == 0 answers at once without a model call.
// Throws what the lookup throws (kNotFound, kCancelled) before anything is queued.
void infer_async(RouteContext& ctx, const std::string& name, const std::string& version,
                 InputBatch batch, http::Responder respond,
                 std::function<http::Response(std::vector<float>&)> on_scores);

// Names of models we create files for: letters, digits, '_', '-', '.', not starting with '.'.
// Throws kInvalidArgument.
void check_model_name(const std::string& name);

void add_oip_routes(http::Router& router, RouteContext& ctx);
void add_tfaas_routes(http::Router& router, RouteContext& ctx);
void add_metrics_routes(http::Router& router, RouteContext& ctx);

}  // namespace m4h::serve
