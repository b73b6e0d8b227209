// A real `serve` stack for client tests: a repository folder holding the fixtures' bundles as
// models "mlp" and "pre" (serve_test_util.h), its Service, and an HTTP server on 127.0.0.1:0.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "http/server.h"
#include "serve/serve_test_util.h"
#include "serve/service.h"

namespace m4h::test {

struct ServedRepository {
  ServedRepository() {
    const auto& f = serve_fixtures();
    std::filesystem::create_directories(w.path("repo/mlp"));
    std::filesystem::create_directories(w.path("repo/pre"));
    std::filesystem::copy(f.mlp, w.path("repo/mlp/1"), std::filesystem::copy_options::recursive);
    std::filesystem::copy(f.pre, w.path("repo/pre/1"), std::filesystem::copy_options::recursive);
    serve::RepositoryOptions ro;
    ro.root = w.path("repo");
    repo = serve::make_repository(ro);
    service = std::make_unique<serve::Service>(*repo, nullptr);
    server = std::make_unique<http::Server>(http::ServerOptions{}, service->handler());
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~ServedRepository() {
    server->stop();
    service.reset();
  }
  Scratch w;
  std::unique_ptr<serve::Repository> repo;
  std::unique_ptr<serve::Service> service;
  std::unique_ptr<http::Server> server;
  std::string base;
};

}  // namespace m4h::test
