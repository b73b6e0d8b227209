#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/listen_options.h"
#include "cli/stop_signals.h"
#include "http/server.h"
#include "serve/model.h"
#include "serve/service.h"

namespace m4h::cli {

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve the trained bundles of a model repository over HTTP: the Open Inference Protocol v2 "
      "(Triton/KServe clients) under /v2, the TFaaS API (/json, /proto, /upload, ...) and "
      "Prometheus /metrics. Stops on SIGINT/SIGTERM after answering requests in flight");
  struct Options {
    serve::RepositoryOptions repo;
    http::ServerOptions http;
    int64_t max_delay_us = 500;
    std::string access_log;
  };
  auto o = std::make_shared<Options>();
  o->http.port = 8083;
  cmd->add_option("--models", o->repo.root, "repository folder: NAME/VERSION/bundle.json or NAME/bundle.json")
      ->required();
  add_listen_options(*cmd, o->http, o->access_log);
  cmd->add_option("--threads", o->http.threads, "HTTP io threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--max-batch", o->repo.batching.max_batch_rows, "rows a model executes together at most (0: no dynamic batching)")
      ->capture_default_str();
  cmd->add_option("--max-delay-us", o->max_delay_us, "longest wait for more requests to batch")->capture_default_str();
  cmd->add_option("--max-loaded", o->repo.max_loaded, "models loaded at once (0: no cap, else least recently used out)")
      ->capture_default_str();
  cmd->add_option("--poll", o->repo.poll_seconds, "rescan the repository every S seconds (0: only on API calls)")
      ->capture_default_str();
  cmd->callback([o] {
    o->repo.batching.max_queue_delay = std::chrono::microseconds(o->max_delay_us);
    if (!o->access_log.empty()) o->http.access_log = http::open_access_log(o->access_log);
    o->http.counters = std::make_shared<http::StatusCounters>();
    StopSignals stop_signals;

    auto repository = serve::make_repository(o->repo);
    auto service = std::make_unique<serve::Service>(*repository, o->http.counters);
    http::Server server(o->http, service->handler());
    std::printf("mlaas4hep serve: listening on %s://%s:%u (models: %s)\n",
                o->http.tls_cert_file.empty() ? "http" : "https", o->http.host.c_str(),
                static_cast<unsigned>(server.port()), o->repo.root.c_str());
    std::fflush(stdout);
    const int sig = stop_signals.wait();
    std::printf("mlaas4hep serve: signal %d, stopping\n", sig);
    std::fflush(stdout);
    server.stop();
    service.reset();  // waits for the answers still being computed, before the repository goes
  });
}

}  // namespace m4h::cli
