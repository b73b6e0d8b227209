// The HTTP face of `mlaas4hep serve`: OIP v2 (KServe/Triton clients), the TFaaS API and
// Prometheus /metrics, routed onto a Repository. Handlers never block an io thread: inference
// answers come back through the batcher's completion (serialised on the connection's io thread),
// and slow calls (load, upload, delete) run on a small pool of waiter threads.
#pragma once

#include <memory>
#include <string>

#include "http/server.h"
#include "serve/model.h"

namespace m4h::serve {

struct ServiceOptions {
  int waiter_threads = 8;  // threads for blocking repository calls (load, upload, delete, index)
  std::string upload_dir;  // where uploads are spooled before add_bundle; "" = the temp folder
};

class Service {
 public:
  // `repository` and `http_counters` (null: no HTTP counts in /metrics) must outlive the Service.
  Service(Repository& repository, std::shared_ptr<http::StatusCounters> http_counters,
          ServiceOptions options = {});
  // Waits for the waiter threads to finish what they hold: destroy the Service after the Server
  // has stopped and before the Repository.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Valid while the Service lives.
  http::Handler handler() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace m4h::serve
