#include "serve/service.h"

#include <nlohmann/json.hpp>

#include "http/errors.h"
#include "serve/routes.h"

namespace m4h::serve {

struct Service::Impl {
  Impl(Repository& repo, std::shared_ptr<http::StatusCounters> counters, ServiceOptions options)
      : waiters(static_cast<size_t>(std::max(1, options.waiter_threads))),
        ctx{repo, waiters, std::move(counters), std::move(options)} {
    add_oip_routes(router, ctx);
    add_tfaas_routes(router, ctx);
    add_metrics_routes(router, ctx);
  }
  ThreadPool waiters;
  RouteContext ctx;
  http::Router router;
};

Service::Service(Repository& repository, std::shared_ptr<http::StatusCounters> http_counters,
                 ServiceOptions options)
    : impl_(std::make_unique<Impl>(repository, std::move(http_counters), std::move(options))) {}

Service::~Service() = default;

http::Handler Service::handler() const { return impl_->router.handler(); }

http::Response json_response(const nlohmann::json& body, int status) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

void run_blocking(RouteContext& ctx, http::Responder respond, std::function<http::Response()> fn) {
  ctx.waiters.submit([respond = std::move(respond), fn = std::move(fn)] {
    http::answer_errors(respond, [&] { respond(fn()); });
  });
}

void infer_async(RouteContext& ctx, const std::string& name, const std::string& version,
                 InputBatch batch, http::Responder respond,
                 std::function<http::Response(std::vector<float>&)> on_scores) {
  if (batch.rows == 0) {
    std::vector<float> none;
    return respond(on_scores(none));
  }
  // The batcher calls back on its worker; the answer is serialised on the connection's io
  // thread (no thread blocks on the request, no hand-off through a waiter thread).
  ctx.repository.submit_then(
      name, version, std::move(batch),
      [respond, on_scores = std::move(on_scores)](std::vector<float>& scores, std::exception_ptr error) mutable {
        if (error) return respond(http::error_response(error));
        respond.build([scores = std::move(scores), on_scores = std::move(on_scores)]() mutable {
          return on_scores(scores);
        });
      });
}

void check_model_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && name.front() != '.';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!ok) {
    throw Error(ErrorCode::kInvalidArgument,
                "model name '" + name + "': use letters, digits, '_', '-', '.' (not first), at most 128");
  }
}

}  // namespace m4h::serve
