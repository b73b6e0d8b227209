#include "cli/listen_options.h"

#include <CLI/CLI.hpp>

namespace m4h::cli {

void add_listen_options(CLI::App& cmd, http::ServerOptions& http, std::string& access_log) {
  cmd.add_option("--host", http.host, "address to listen on")->capture_default_str();
  cmd.add_option("--port", http.port, "port (0: any free one, printed)")->capture_default_str();
  auto* cert = cmd.add_option("--tls-cert", http.tls_cert_file, "PEM certificate (chain): serve HTTPS");
  auto* key = cmd.add_option("--tls-key", http.tls_key_file, "PEM private key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  cmd.add_option("--access-log", access_log, "one line per request to FILE, or - for stderr");
}

}  // namespace m4h::cli
