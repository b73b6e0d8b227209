// The HTTP/1.1 server wrapper, in plain C++ (Boost.Beast is seen by src/http/*.cc only): requests
// and responses as structs, handlers that answer now or later from any thread, limits, timeouts,
// optional TLS and a graceful stop.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace m4h::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded, without the query
  std::string query;   // after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::map<std::string, std::string> params;  // path parameters filled in by the Router

  // The first header of that (case-insensitive) name, "" when absent.
  std::string_view header(std::string_view name) const;
  // The percent-decoded value of ?name=..., "" when absent.
  std::string query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Answers one request. Copyable; the first call wins, later ones are ignored. May be called from
// any thread: the write is posted to the connection's strand. If every copy is destroyed unused,
// the client gets a 500 (a handler that forgets to answer must not hang the connection).
class Responder {
 public:
  struct State;
  Responder() = default;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void operator()(Response response) const;
  // Answers make()'s result (or its error), with make() run on the connection's io thread:
  // work that only builds the answer (serialising scores) then stays off the caller's thread.
  void build(std::function<Response()> make) const;

 private:
  std::shared_ptr<State> state_;
};

// Called on an io thread; must not block (hand slow work to another thread and answer later).
using Handler = std::function<void(Request&, Responder)>;

// Requests answered, by status (100..599); lock-free, shared by the server and /metrics.
class StatusCounters {
 public:
  void add(int status);
  std::map<int, int64_t> snapshot() const;

 private:
  std::array<std::atomic<int64_t>, 600> counts_{};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (port() tells which)
  int threads = 2;
  size_t max_header_bytes = 64 << 10;  // -> 431
  size_t max_body_bytes = 64 << 20;    // -> 413
  std::chrono::milliseconds read_timeout{30000};  // to receive a request (or send a response)
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait for the next request
  std::chrono::milliseconds stop_grace{5000};     // stop() waits this long for answers in flight
  std::string tls_cert_file, tls_key_file;        // both set: HTTPS only
  // One line per request ("METHOD target status bytes us"); empty: no access log.
  std::function<void(std::string_view line)> access_log;
  std::shared_ptr<StatusCounters> counters;  // null: not counted
  std::string server_name = "mlaas4hep";
};

// %XX -> byte (and '+' -> ' ' in query strings); malformed escapes are kept as they are.
std::string percent_decode(std::string_view s, bool plus_is_space = false);

// Access-log sinks: "-" = stderr, else a file appended to. Thread-safe. Throws m4h::Error kIo.
std::function<void(std::string_view)> open_access_log(const std::string& where);

class Server {
 public:
  // Binds and starts the io threads. Throws m4h::Error kIo (bind, TLS files) naming the address.
  Server(ServerOptions options, Handler handler);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  // Stops accepting, closes idle connections, lets requests in flight be answered (up to
  // stop_grace), then joins the io threads. Idempotent; thread-safe.
  void stop();
  // Blocks until stop() has finished (from another thread or a signal handler's thread).
  void wait();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace m4h::http
