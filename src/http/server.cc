// Boost.Beast behind server.h. One io_context run by N threads; each connection is a session on
// its own strand that reads one request at a time (header first, so limits and 100-continue are
// handled before the body), hands it to the handler and waits, with no timer and no thread held,
// until a Responder posts the answer back to the strand.
#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "http/errors.h"

namespace m4h::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Exposes io_context's shutdown(): it destroys the handlers still queued, and with them the
// sessions they hold, before the threads' owner goes away.
struct IoContext : net::io_context {
  using net::io_context::io_context;
  void destroy_pending() { shutdown(); }
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void close_if_idle() = 0;  // on stop(): connections waiting for a request go now
};

}  // namespace

struct Responder::State {
  std::function<void(std::function<Response()>)> send;  // runs make() on the strand and writes
  std::atomic<bool> used{false};
  ~State() {
    if (!used.exchange(true) && send) send([] { return error_response(500, "the handler gave no answer"); });
  }
};

void Responder::operator()(Response response) const {
  if (!state_ || state_->used.exchange(true)) return;
  state_->send([r = std::move(response)]() mutable { return std::move(r); });
}

void Responder::build(std::function<Response()> make) const {
  if (!state_ || state_->used.exchange(true)) return;
  state_->send(std::move(make));
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  ServerOptions options;
  Handler handler;
  IoContext ioc;
  std::optional<net::ssl::context> tls;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  // Keeps run() going while sessions wait for answers with no operation pending (after stop()
  // has closed the acceptor, nothing else would).
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards what follows
  std::condition_variable cv;
  std::unordered_set<SessionBase*> sessions;
  bool closed = false;   // the io_context is shut down: post nothing more
  bool stopped = false;  // stop() has finished

  void accept();
  // Posts fn to a session's strand unless the server is gone (then the answer is dropped).
  template <typename Executor, typename Fn>
  void post(const Executor& ex, Fn&& fn) {
    std::lock_guard lock(mu);
    if (!closed) net::post(ex, std::forward<Fn>(fn));
  }
  void add_session(SessionBase* s) {
    std::lock_guard lock(mu);
    sessions.insert(s);
  }
  void remove_session(SessionBase* s) {
    std::lock_guard lock(mu);
    sessions.erase(s);
    cv.notify_all();
  }
};

namespace {

// The protocol, shared by plain and TLS connections (Derived gives stream() and close()).
template <typename Derived>
class Session : public SessionBase {
 public:
  explicit Session(std::shared_ptr<Server::Impl> core) : core_(std::move(core)) {
    core_->add_session(this);
  }
  ~Session() override { core_->remove_session(this); }

  void close_if_idle() override {
    auto self = shared();
    net::post(derived().stream().get_executor(), [self] {
      if (self->idle_) self->close_now();
    });
  }

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> shared() { return std::static_pointer_cast<Derived>(shared_from_this()); }
  auto& lowest() { return beast::get_lowest_layer(derived().stream()); }

  // Between requests on stop(): closed at once, as a kept-alive client would not close its
  // side for a lingering close.
  void close_now() {
    beast::error_code ec;
    lowest().socket().close(ec);
  }

  void read_request() {
    if (core_->stopping) return close_now();
    const ServerOptions& o = core_->options;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    idle_ = true;
    lowest().expires_after(first_ ? o.read_timeout : o.idle_timeout);
    bhttp::async_read_header(derived().stream(), buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared()));
  }

  void on_header(beast::error_code ec, size_t) {
    idle_ = false;
    first_ = false;
    if (ec) return read_failed(ec);
    lowest().expires_after(core_->options.read_timeout);
    auto& msg = parser_->get();
    if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      continue_.emplace(bhttp::status::continue_, msg.version());
      bhttp::async_write(derived().stream(), *continue_,
                         [self = shared()](beast::error_code ec, size_t) {
                           if (ec) return self->derived().close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(derived().stream(), buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_body, shared()));
  }

  // A request that cannot be read: answer what the client can act on, then close.
  void read_failed(beast::error_code ec) {
    keep_alive_ = false;
    version_ = 11;
    log_method_ = "-";
    log_target_ = "-";
    started_ = Clock::now();
    if (ec == bhttp::error::body_limit) {
      return write(error_response(413, "request body over " +
                                           std::to_string(core_->options.max_body_bytes) + " bytes"));
    }
    if (ec == bhttp::error::header_limit) return write(error_response(431, "request header too large"));
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return write(error_response(400, "malformed HTTP request: " + ec.message()));
    }
    derived().close();  // EOF, timeout, reset, stop(): nobody to answer
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec) return read_failed(ec);
    lowest().expires_never();  // the handler may take its time (batching, a model load)
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    started_ = Clock::now();

    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const size_t q = req.target.find('?');
    req.path = percent_decode(std::string_view(req.target).substr(0, q));
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(8);
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    if (core_->options.access_log) {
      log_method_ = req.method;
      log_target_ = req.target;
    }

    auto state = std::make_shared<Responder::State>();
    state->send = [self = shared()](std::function<Response()> make) {
      auto ex = self->derived().stream().get_executor();
      self->core_->post(ex, [self, make = std::move(make)]() mutable {
        Response r;
        try {
          r = make();
        } catch (...) {
          r = error_response(std::current_exception());
        }
        self->write(std::move(r));
      });
    };
    Responder respond(std::move(state));
    try {
      core_->handler(req, respond);
    } catch (...) {
      respond(error_response(std::current_exception()));
    }
  }

  void write(Response r) {
    const bool keep = keep_alive_ && !core_->stopping;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(bhttp::field::server, core_->options.server_name);
    if (!r.body.empty() || r.status != 204) res_.set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res_.set(k, v);
    res_.body() = std::move(r.body);
    res_.keep_alive(keep);
    res_.prepare_payload();
    status_ = r.status;
    lowest().expires_after(core_->options.read_timeout);
    bhttp::async_write(derived().stream(), res_,
                       beast::bind_front_handler(&Session::on_write, shared()));
  }

  void on_write(beast::error_code ec, size_t bytes) {
    const ServerOptions& o = core_->options;
    if (o.counters) o.counters->add(status_);
    if (o.access_log) {
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
      o.access_log(log_method_ + " " + log_target_ + " " + std::to_string(status_) + " " +
                   std::to_string(res_.body().size()) + " " + std::to_string(us) +
                   (ec ? " write-failed" : ""));
    }
    (void)bytes;
    if (ec || !res_.keep_alive()) return derived().close();
    res_ = {};
    read_request();
  }

  std::shared_ptr<Server::Impl> core_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> res_;
  bool idle_ = false, first_ = true, keep_alive_ = false;
  unsigned version_ = 11;
  int status_ = 0;
  Clock::time_point started_;
  std::string log_method_, log_target_;
};

constexpr std::chrono::seconds kLinger{2};

class PlainSession : public Session<PlainSession> {
 public:
  PlainSession(std::shared_ptr<Server::Impl> core, tcp::socket socket)
      : Session(std::move(core)), stream_(std::move(socket)) {}
  beast::tcp_stream& stream() { return stream_; }

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&PlainSession::read_request, shared()));
  }

  // Half-close, then read what the client still sends (a body we refused) until it closes or
  // kLinger passes: closing with unread input would reset the connection and lose our answer.
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return stream_.close();
    stream_.expires_after(kLinger);
    drain();
  }

 private:
  void drain() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared()](beast::error_code ec, size_t) {
      if (ec) return self->stream_.close();
      self->drain();
    });
  }
  beast::tcp_stream stream_;
  std::array<char, 4096> scratch_;
};

class TlsSession : public Session<TlsSession> {
 public:
  TlsSession(std::shared_ptr<Server::Impl> core, tcp::socket socket, net::ssl::context& ctx)
      : Session(std::move(core)), stream_(std::move(socket), ctx) {}
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void start() {
    auto self = shared();
    net::dispatch(stream_.get_executor(), [self] {
      self->lowest().expires_after(self->core_->options.read_timeout);
      self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return beast::get_lowest_layer(self->stream_).close();
        self->read_request();
      });
    });
  }

  void close() {
    lowest().expires_after(kLinger);
    stream_.async_shutdown([self = shared()](beast::error_code) {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec,
                                                                          tcp::socket socket) {
    if (self->stopping || !self->acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);  // small responses must not wait for Nagle
      if (self->tls) {
        std::make_shared<TlsSession>(self, std::move(socket), *self->tls)->start();
      } else {
        std::make_shared<PlainSession>(self, std::move(socket))->start();
      }
    }
    self->accept();  // an accept error (EMFILE, a reset) costs that client only
  });
}

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_shared<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  s.handler = std::move(handler);
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  if (!s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty()) {
    if (s.options.tls_cert_file.empty() || s.options.tls_key_file.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "TLS needs both a certificate and a key file");
    }
    s.tls.emplace(net::ssl::context::tls_server);
    s.tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    s.tls->use_certificate_chain_file(s.options.tls_cert_file, ec);
    if (ec) throw Error(ErrorCode::kIo, "TLS certificate " + s.options.tls_cert_file + ": " + ec.message());
    s.tls->use_private_key_file(s.options.tls_key_file, net::ssl::context::pem, ec);
    if (ec) throw Error(ErrorCode::kIo, "TLS key " + s.options.tls_key_file + ": " + ec.message());
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(s.options.host, ec);
  if (ec) throw Error(ErrorCode::kInvalidArgument, "listen address " + s.options.host + ": " + ec.message());
  const tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::kIo, "listen on " + where + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.accept();
  const int n = std::max(1, s.options.threads);
  for (int i = 0; i < n; ++i) {
    s.threads.emplace_back([core = impl_] { core->ioc.run(); });
  }
}

Server::~Server() { stop(); }

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return wait();
  net::post(s.acceptor.get_executor(), [core = impl_] {
    beast::error_code ec;
    core->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> alive;
  {
    std::lock_guard lock(s.mu);
    for (SessionBase* session : s.sessions) {
      if (auto p = session->weak_from_this().lock()) alive.push_back(std::move(p));
    }
  }
  for (auto& session : alive) session->close_if_idle();
  alive.clear();  // outside the lock: the last reference runs ~Session, which takes it
  {
    std::unique_lock lock(s.mu);
    // Requests in flight get their answers (with Connection: close) until the grace runs out.
    s.cv.wait_for(lock, s.options.stop_grace, [&] { return s.sessions.empty(); });
  }
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // stop() from a handler: that thread ends when its handler returns
    } else {
      t.join();
    }
  }
  {
    std::lock_guard lock(s.mu);
    s.closed = true;
  }
  s.ioc.destroy_pending();
  std::lock_guard lock(s.mu);
  s.stopped = true;
  s.cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->stopped; });
}

}  // namespace m4h::http
