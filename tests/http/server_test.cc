// The HTTP server wrapper against a real client (libcurl) and raw sockets on 127.0.0.1:0.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "http/errors.h"
#include "http/router.h"
#include "support/curl_client.h"

namespace m4h::http {
namespace {

using namespace std::chrono_literals;
using test::CurlClient;
using test::RawClient;

struct Fixture {
  explicit Fixture(ServerOptions o = {}) {
    router.add("GET", "/hello", [](Request&, Responder r) {
      Response res;
      res.content_type = "text/plain";
      res.body = "hello";
      r(std::move(res));
    });
    router.add("POST", "/echo", [](Request& q, Responder r) {
      Response res;
      res.content_type = "application/octet-stream";
      res.body = q.body;
      r(std::move(res));
    });
    router.add("GET", "/v2/models/{name}/versions/{version}/infer", [](Request& q, Responder r) {
      Response res;
      res.body = q.params.at("name") + "|" + q.params.at("version") + "|" + q.query_param("k");
      r(std::move(res));
    });
    router.add("GET", "/later", [](Request&, Responder r) {
      std::thread([r] {  // answered from another thread, after the io thread moved on
        std::this_thread::sleep_for(200ms);
        Response res;
        res.body = "later";
        r(std::move(res));
      }).detach();
    });
    router.add("GET", "/built", [](Request&, Responder r) {
      // Built on the connection's strand: only once this handler (on that strand) has returned.
      auto returned = std::make_shared<std::atomic<bool>>(false);
      r.build([returned] {
        Response res;
        res.content_type = "text/plain";
        res.body = returned->load() ? "built after the handler" : "built inside the handler";
        return res;
      });
      std::this_thread::sleep_for(20ms);  // an inline build would have run by now
      returned->store(true);
    });
    router.add("GET", "/built-fails", [](Request&, Responder r) {
      r.build([]() -> Response { throw Error(ErrorCode::kInvalidArgument, "bad rows"); });
    });
    router.add("GET", "/forget", [](Request&, Responder) {});
    router.add("GET", "/missing", [](Request&, Responder) {
      throw Error(ErrorCode::kNotFound, "model 'x' is not loaded");
    });
    router.add("GET", "/crash", [](Request&, Responder) { throw std::runtime_error("boom"); });
    o.counters = counters;
    server = std::make_unique<Server>(std::move(o), router.handler());
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  std::shared_ptr<StatusCounters> counters = std::make_shared<StatusCounters>();
  Router router;
  std::unique_ptr<Server> server;
  std::string base;
};

TEST(HttpServer, RoutesWithPathParametersAndQuery) {
  Fixture f;
  CurlClient c;
  auto r = c.request("GET", f.base + "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  r = c.request("GET", f.base + "/v2/models/my%20model/versions/7/infer?k=a%2Bb+c");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "my model|7|a+b c");
  r = c.request("GET", f.base + "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  r = c.request("POST", f.base + "/hello", "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST(HttpServer, ErrorsMapToStatusesWithJsonBodies) {
  Fixture f;
  CurlClient c;
  auto r = c.request("GET", f.base + "/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"model 'x' is not loaded"})");
  r = c.request("GET", f.base + "/crash");
  EXPECT_EQ(r.status, 500);
  // A handler that drops its responder unanswered: the client gets a 500, not a hang.
  r = c.request("GET", f.base + "/forget");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("no answer"), std::string::npos);
  EXPECT_EQ(status_for(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(status_for(ErrorCode::kCorrupt), 500);
  EXPECT_EQ(status_for(ErrorCode::kCancelled), 503);
}

TEST(HttpServer, AsynchronousAnswerFromAnotherThreadDoesNotHoldIoThreads) {
  ServerOptions o;
  o.threads = 1;
  Fixture f(o);
  // Four requests answered 200 ms later each, on one io thread: all in flight together.
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  std::vector<long> statuses(4);
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] { statuses[static_cast<size_t>(i)] = CurlClient().request("GET", f.base + "/later").status; });
  }
  for (auto& t : clients) t.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  for (long s : statuses) EXPECT_EQ(s, 200);
  EXPECT_LT(took, 700ms);
}

TEST(HttpServer, AnswerBuiltOnTheIoThreadAndItsErrorMapsToAStatus) {
  Fixture f;
  CurlClient c;
  auto r = c.request("GET", f.base + "/built");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "built after the handler");
  r = c.request("GET", f.base + "/built-fails");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("bad rows"), std::string::npos);
  r = c.request("GET", f.base + "/hello");  // the connection goes on
  EXPECT_EQ(r.status, 200);
}

TEST(HttpServer, KeepAliveReusesTheConnection) {
  Fixture f;
  CurlClient c;
  auto r1 = c.request("GET", f.base + "/hello");
  auto r2 = c.request("POST", f.base + "/echo", "abc");
  auto r3 = c.request("GET", f.base + "/hello");
  EXPECT_EQ(r1.new_connections, 1);
  EXPECT_EQ(r2.new_connections, 0);
  EXPECT_EQ(r3.new_connections, 0);
  EXPECT_EQ(r2.body, "abc");
}

TEST(HttpServer, BodyOverTheLimitIs413AndOthersAreServed) {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  Fixture f(o);
  CurlClient c;
  auto r = c.request("POST", f.base + "/echo", std::string(3 << 20, 'x'));
  EXPECT_EQ(r.status, 413);
  r = c.request("POST", f.base + "/echo", std::string(1 << 20, 'y'));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), size_t{1} << 20);
  // Chunked bodies are counted as they come.
  RawClient raw(f.server->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" +
           std::string(0x200000, 'z') + "\r\n0\r\n\r\n");
  EXPECT_NE(raw.read_all().find("413"), std::string::npos);
  EXPECT_EQ(f.counters->snapshot()[413], 2);
}

TEST(HttpServer, HeaderOverTheLimitIs431) {
  ServerOptions o;
  o.max_header_bytes = 4096;
  Fixture f(o);
  CurlClient c;
  auto r = c.request("GET", f.base + "/hello", "", {"X-Big: " + std::string(8000, 'a')});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(c.request("GET", f.base + "/hello").status, 200);
}

TEST(HttpServer, MalformedRequestIs400) {
  Fixture f;
  RawClient raw(f.server->port());
  raw.send("GARBAGE\x01 / HTTP/9\r\n\r\n");
  const std::string answer = raw.read_all();
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_EQ(CurlClient().request("GET", f.base + "/hello").status, 200);
}

TEST(HttpServer, SlowClientDoesNotBlockOthersAndIsClosedAfterTheTimeout) {
  ServerOptions o;
  o.threads = 1;  // the worst case: one io thread for everybody
  o.read_timeout = 1500ms;
  Fixture f(o);
  const auto t0 = std::chrono::steady_clock::now();
  RawClient slow(f.server->port());
  slow.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le");  // half a header, then nothing
  RawClient slow_body(f.server->port());
  slow_body.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  CurlClient c;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.request("GET", f.base + "/hello", "", {}, 2000).status, 200);
  // well before the slow ones' timeout: they held nothing up
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1200ms);
  bool closed = false;
  slow.read_all(&closed);
  EXPECT_TRUE(closed);
  closed = false;
  slow_body.read_all(&closed);
  EXPECT_TRUE(closed);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 5s);
}

TEST(HttpServer, TruncatedBodyThenCloseLeavesTheServerServing) {
  Fixture f;
  {
    RawClient raw(f.server->port());
    raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this");
    raw.shutdown_send();
    bool closed = false;
    EXPECT_EQ(raw.read_all(&closed), "");  // nothing to answer: the request never completed
    EXPECT_TRUE(closed);
  }
  EXPECT_EQ(CurlClient().request("GET", f.base + "/hello").status, 200);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Fixture f;
  RawClient raw(f.server->port());
  raw.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
           "Connection: close\r\n\r\nxyz");
  const std::string all = raw.read_all();
  const size_t a = all.find("hello"), b = all.find("xyz");
  EXPECT_NE(a, std::string::npos);
  EXPECT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
}

TEST(HttpServer, ExpectContinueIsHonoured) {
  Fixture f;
  RawClient raw(f.server->port());
  raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  char buf[64] = {};
  // the interim answer comes before the body is sent
  std::string first;
  raw.send("");
  std::this_thread::sleep_for(100ms);
  raw.send("data");
  raw.shutdown_send();
  first = raw.read_all();
  (void)buf;
  EXPECT_EQ(first.rfind("HTTP/1.1 100 Continue", 0), 0u) << first;
  EXPECT_NE(first.find("data"), std::string::npos);
}

TEST(HttpServer, AccessLogHasOneLinePerRequest) {
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mu = std::make_shared<std::mutex>();
  ServerOptions o;
  o.access_log = [lines, mu](std::string_view l) {
    std::lock_guard lock(*mu);
    lines->emplace_back(l);
  };
  Fixture f(o);
  CurlClient c;
  c.request("GET", f.base + "/hello?x=1");
  c.request("GET", f.base + "/nope");
  f.server->stop();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].rfind("GET /hello?x=1 200 5 ", 0), 0u) << (*lines)[0];
  EXPECT_EQ((*lines)[1].rfind("GET /nope 404 ", 0), 0u) << (*lines)[1];
}

TEST(HttpServer, AccessLogFileSink) {
  const auto path = std::filesystem::temp_directory_path() / ("m4h-access-" + std::to_string(::getpid()) + ".log");
  {
    ServerOptions o;
    o.access_log = open_access_log(path.string());
    Fixture f(o);
    CurlClient().request("GET", f.base + "/hello");
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("GET /hello 200 5 ", 0), 0u) << line;
  std::filesystem::remove(path);
  EXPECT_THROW(open_access_log("/nonexistent-dir/x.log"), Error);
}

TEST(HttpServer, StopLetsRequestsInFlightFinish) {
  Fixture f;
  long status = 0;
  std::string body;
  std::thread client([&] {
    auto r = CurlClient().request("GET", f.base + "/later");
    status = r.status;
    body = r.body;
  });
  std::this_thread::sleep_for(80ms);
  const auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  client.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "later");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Closed for new connections.
  auto r = CurlClient().request("GET", f.base + "/hello", "", {}, 1000);
  EXPECT_NE(r.code, CURLE_OK);
}

TEST(HttpServer, BindErrorsNameTheAddress) {
  Fixture f;
  ServerOptions o;
  o.port = f.server->port();
  try {
    Server second(o, f.router.handler());
    FAIL() << "bound twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)), std::string::npos);
  }
}

TEST(HttpServer, Tls) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl command";
  const auto dir = std::filesystem::temp_directory_path() / ("m4h-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout " +
                          key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  {
    ServerOptions o;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
    Fixture f(o);
    const std::string https = "https://127.0.0.1:" + std::to_string(f.server->port());
    CurlClient c;
    c.insecure_tls();
    auto r = c.request("GET", https + "/hello");
    EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(c.request("POST", https + "/echo", "tls body").body, "tls body");
    EXPECT_EQ(c.request("GET", https + "/hello").new_connections, 0);
    // Plain HTTP to a TLS port is dropped, and the server keeps serving.
    EXPECT_NE(CurlClient().request("GET", f.base + "/hello", "", {}, 2000).status, 200);
    EXPECT_EQ(c.request("GET", https + "/hello").status, 200);
  }
  ServerOptions bad;
  bad.tls_cert_file = (dir / "missing.pem").string();
  bad.tls_key_file = key;
  EXPECT_THROW(Server(bad, [](Request&, Responder) {}), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace m4h::http
