// The workflow server's REST API, JSON under /api/v1, and the reference MLaaS4HEP server's
// endpoints (/upload, /submit, /status, /logs, /model, /delete_specs, /delete_folder) as aliases:
//   GET    /api/v1/whoami
//   POST   /api/v1/uploads[?name=ID]        a .tar.gz (raw gzip body or a multipart file part)
//   GET    /api/v1/uploads                  my uploads; GET/DELETE /api/v1/uploads/{id}
//   DELETE /api/v1/uploads/{id}/specs       the specs*.json files kept in it
//   POST   /api/v1/jobs                     a workflow (service/workflow.h) -> 201, or 429 when full
//   GET    /api/v1/jobs[?state=&limit=&before=&owner=]   newest first (owner=: admins only)
//   GET    /api/v1/jobs/{id}                DELETE: an ended job and its folder
//   POST   /api/v1/jobs/{id}/cancel
//   GET    /api/v1/jobs/{id}/log?offset=N&wait_ms=M   bytes from N; waits up to M ms (at most
//          30 s) for more while the job runs. X-Log-Offset: the next offset; X-Job-State.
//   GET    /api/v1/jobs/{id}/artifacts      the bundle's files; .../artifacts/{path} one of them;
//          .../artifacts/bundle.tar.gz the whole bundle
//   GET    /api/v1/models                   the models on the inference server jobs publish to
// Users see and act on their own jobs and uploads only (403 otherwise); admins on all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/router.h"
#include "service/jobs.h"

namespace m4h::service {

struct Principal {
  std::string subject;  // the token's subject ("local" without authentication)
  bool admin = false;
};

// Who sent a request (its Authorization header). Throws m4h::Error kAuth (401).
using Authenticator = std::function<Principal(const http::Request&)>;

// --auth none: every request is "local", an admin.
Authenticator no_authentication();

struct ApiOptions {
  std::string uploads_dir;
  WorkflowContext limits;      // data roots, CPU and memory caps (upload_dir is set per request)
  int worker_threads = 4;      // store and file work off the io threads
  // The inference server's model list as JSON text (its GET /models), and where it is; unset: the
  // server publishes nowhere, and /api/v1/models answers an empty list.
  std::function<std::string()> list_models;
  std::string inference_url;
};

class Api {
 public:
  // `jobs`, `store` must outlive the Api.
  Api(JobService& jobs, JobStore& store, Authenticator authenticate, ApiOptions options);
  // Answers the requests it holds (log waits) and joins its threads: destroy it after the HTTP
  // server has stopped.
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  void add_routes(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace m4h::service
