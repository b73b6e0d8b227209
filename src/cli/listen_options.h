// The listening options the server commands (serve, server) share: --host, --port, --tls-cert
// with --tls-key, --access-log.
#pragma once

#include <string>

#include "http/server.h"

namespace CLI {
class App;
}

namespace m4h::cli {

// Registers the options on `cmd`, writing into `http` and `access_log` (both must outlive parsing).
void add_listen_options(CLI::App& cmd, http::ServerOptions& http, std::string& access_log);

}  // namespace m4h::cli
