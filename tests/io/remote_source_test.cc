// Remote byte sources without a real server: URL parsing and dispatch, the redirector rule,
// failures that must be fast and name the URL (a refused connection, a server that never
// answers), and the HTTP source against an in-test HTTP server (tests/support/http_test_server.h):
// single and multipart ranges, servers that answer one range only, merge ranges or ignore them,
// dropped connections, 503s, redirects, bearer tokens, concurrency and connection reuse.
// Real xrootd servers are exercised by tests/remote.
#include "io/http_source.h"
#include "io/source.h"
#include "io/xrootd_source.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "io/coalesce.h"
#include "support/http_test_server.h"

namespace m4h::io {
namespace {

using test::HttpTestServer;
using Clock = std::chrono::steady_clock;

template <typename Fn>
Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an m4h::Error";
  return Error(ErrorCode::kInternal, "no error thrown");
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A port on 127.0.0.1 with nothing listening (bound, then released).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

SourceOptions fast_options(int retries = 0) {
  SourceOptions o;
  o.timeout_s = 5;
  o.retries = retries;
  o.backoff_s = 0.02;
  return o;
}

std::vector<uint8_t> expected(uint64_t offset, uint64_t n) {
  std::vector<uint8_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = HttpTestServer::pattern_byte(offset + i);
  return v;
}

std::vector<uint8_t> read_vec(Source& s, uint64_t offset, uint64_t n) {
  std::vector<uint8_t> v(n);
  s.read_at(offset, v);
  return v;
}

// Reads `ranges` with read_v and checks each against the pattern.
void check_read_v(Source& s, const std::vector<ByteRange>& ranges) {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<std::span<uint8_t>> outs;
  for (const auto& r : ranges) bufs.emplace_back(r.length);
  for (auto& b : bufs) outs.emplace_back(b);
  s.read_v(ranges, outs);
  for (std::size_t i = 0; i < ranges.size(); ++i)
    ASSERT_EQ(bufs[i], expected(ranges[i].offset, ranges[i].length)) << "range " << i;
}

// ---------------------------------------------------------------------------------------------
// URL parsing, dispatch and the redirector rule

TEST(ResolveUrl, SchemesPickTheBackend) {
  EXPECT_EQ(resolve_url("data/file.root").kind, SourceKind::kLocal);
  EXPECT_EQ(resolve_url("data/file.root").url, "data/file.root");
  auto f = resolve_url("file:///tmp/x.root");
  EXPECT_EQ(f.kind, SourceKind::kLocal);
  EXPECT_EQ(f.url, "/tmp/x.root");
  for (const char* u : {"root://host//store/x.root", "roots://host:1094//x.root", "xroot://h//x", "ROOT://h//x"}) {
    EXPECT_EQ(resolve_url(u).kind, SourceKind::kXRootD) << u;
    EXPECT_EQ(resolve_url(u).url, u);
  }
  EXPECT_EQ(resolve_url("http://h:8080/x.root").kind, SourceKind::kHttp);
  EXPECT_EQ(resolve_url("https://h/x.root").kind, SourceKind::kHttp);
  EXPECT_EQ(resolve_url("davs://h:2880/x.root").url, "https://h:2880/x.root");
  EXPECT_EQ(resolve_url("dav://h/x.root").url, "http://h/x.root");
  // Not a scheme: a relative path that happens to contain "://".
  EXPECT_EQ(resolve_url("./a://b").kind, SourceKind::kLocal);
}

TEST(ResolveUrl, UnknownSchemeIsUnsupportedAndNamesTheUrl) {
  auto e = error_of([] { open_source("s3://bucket/x.root"); });
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("s3://bucket/x.root"), std::string::npos) << e.what();
}

TEST(ResolveUrl, RedirectorPrefixesPathsThatAreNeitherLocalNorUrls) {
  SourceOptions o;
  o.redirector = "root://cms-xrd-global.cern.ch";
  auto r = resolve_url("/store/mc/x.root", o);
  EXPECT_EQ(r.kind, SourceKind::kXRootD);
  EXPECT_EQ(r.url, "root://cms-xrd-global.cern.ch//store/mc/x.root");
  o.redirector = "root://cms-xrd-global.cern.ch/";  // a trailing slash changes nothing
  EXPECT_EQ(resolve_url("/store/mc/x.root", o).url, "root://cms-xrd-global.cern.ch//store/mc/x.root");
  o.redirector = "https://eos.example.org:8443/eos";
  r = resolve_url("/store/x.root", o);
  EXPECT_EQ(r.kind, SourceKind::kHttp);
  EXPECT_EQ(r.url, "https://eos.example.org:8443/eos//store/x.root");
  // URLs and existing local files are left alone.
  EXPECT_EQ(resolve_url("http://h/x.root", o).url, "http://h/x.root");
  const auto here = std::filesystem::temp_directory_path() / ("m4h-redir-" + std::to_string(::getpid()));
  std::ofstream(here) << "x";
  EXPECT_EQ(resolve_url(here.string(), o).kind, SourceKind::kLocal);
  std::filesystem::remove(here);
}

TEST(ResolveUrl, WithoutRedirectorAMissingPathIsNotFound) {
  auto e = error_of([] { open_source("/store/does/not/exist.root", SourceOptions{}); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_NE(std::string(e.what()).find("/store/does/not/exist.root"), std::string::npos);
}

TEST(ResolveUrl, RedirectorMustBeARemoteUrl) {
  SourceOptions o;
  for (const char* bad : {"cms-xrd-global.cern.ch", "root://", "file:///data"}) {
    o.redirector = bad;
    EXPECT_EQ(error_of([&] { resolve_url("/store/x.root", o); }).code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(SourceOptionsTest, CoalesceGapReachesLimits) {
  const auto path = std::filesystem::temp_directory_path() / ("m4h-gap-" + std::to_string(::getpid()));
  std::ofstream(path) << "0123456789";
  SourceOptions o;
  EXPECT_EQ(open_source(path.string(), o)->limits().coalesce_gap, uint64_t{16} << 10);
  EXPECT_TRUE(open_source(path.string(), o)->limits().coalesce);
  o.coalesce_gap = 1000;
  EXPECT_EQ(open_source(path.string(), o)->limits().coalesce_gap, 1000u);
  o.coalesce_gap = 0;
  EXPECT_FALSE(open_source(path.string(), o)->limits().coalesce);
  std::filesystem::remove(path);
}

TEST(CoalesceOff, OnlyOverlappingRangesShareABlock) {
  std::vector<ByteRange> r = {{0, 100}, {100, 50}, {120, 10}, {400, 5}};
  auto b = plan_blocks(r, 1 << 20, 1 << 20, /*coalesce=*/false);
  ASSERT_EQ(b.size(), 3u);  // [0,100) | [100,150) holding [120,130) | [400,405)
  EXPECT_EQ(b[1].offset, 100u);
  EXPECT_EQ(b[1].length, 50u);
}

// ---------------------------------------------------------------------------------------------
// Failing fast, naming the URL

TEST(RemoteErrors, RefusedConnectionFailsFastNamingTheUrl) {
  const int port = closed_port();
  for (const std::string& url : {"root://127.0.0.1:" + std::to_string(port) + "//data/x.root",
                                "http://127.0.0.1:" + std::to_string(port) + "/data/x.root"}) {
    const auto t0 = Clock::now();
    auto e = error_of([&] { open_source(url, fast_options(1)); });
    EXPECT_LT(seconds_since(t0), 4.0) << url;
    EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
    EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tried 2 times"), std::string::npos) << e.what();
  }
}

TEST(RemoteErrors, ServerThatNeverAnswersTimesOut) {
  HttpTestServer server(1000, HttpTestServer::Mode::kHang);
  SourceOptions o = fast_options(0);
  o.timeout_s = 1;
  const auto t0 = Clock::now();
  auto e = error_of([&] { open_source(server.url(), o); });
  EXPECT_LT(seconds_since(t0), 4.0);
  EXPECT_EQ(e.code(), ErrorCode::kIo);
  EXPECT_NE(std::string(e.what()).find(server.url()), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
}

TEST(RemoteErrors, MissingHttpFileIsNotFound) {
  HttpTestServer server(1000, HttpTestServer::Mode::kRanges);
  auto e = error_of([&] { open_source(server.url("/nope.root"), fast_options(2)); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
  EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
  EXPECT_EQ(server.requests(), 1);  // not retried
}

// ---------------------------------------------------------------------------------------------
// HTTP ranges

TEST(HttpSourceTest, SizeAndSingleRanges) {
  HttpTestServer server(100'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  EXPECT_EQ(src->url(), server.url());
  EXPECT_EQ(src->size(), 100'000u);
  EXPECT_EQ(read_vec(*src, 0, 10), expected(0, 10));
  EXPECT_EQ(read_vec(*src, 99'990, 10), expected(99'990, 10));
  EXPECT_EQ(read_vec(*src, 12'345, 54'321), expected(12'345, 54'321));
  EXPECT_TRUE(read_vec(*src, 500, 0).empty());
  const IoStats st = src->stats();
  EXPECT_EQ(st.ranges, 4u);
  EXPECT_EQ(st.bytes, 10u + 10u + 54'321u);
  EXPECT_EQ(st.requests, 3u);  // the empty read asks nothing
  EXPECT_EQ(st.retries, 0u);
  EXPECT_GT(src->limits().coalesce_gap, uint64_t{16} << 10);  // a round trip costs more than a syscall
}

TEST(HttpSourceTest, ReadPastTheEndIsCorruptAndNamesTheUrl) {
  HttpTestServer server(1000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  auto e = error_of([&] { read_vec(*src, 990, 20); });
  EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
  EXPECT_NE(std::string(e.what()).find(server.url()), std::string::npos);
}

TEST(HttpSourceTest, ManyRangesGoAsMultipartRequests) {
  HttpTestServer server(4'000'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  std::vector<ByteRange> ranges;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 300; ++i) ranges.push_back({rng() % 3'900'000, 1 + rng() % 20'000});
  ranges.push_back({0, 0});  // empty ranges are fine
  check_read_v(*src, ranges);
  auto* http = dynamic_cast<HttpSource*>(src.get());
  ASSERT_NE(http, nullptr);
  EXPECT_TRUE(http->multi_range());
  EXPECT_GT(server.multi_range_requests(), 0);
  // 301 ranges in requests of at most 64 ranges.
  EXPECT_LE(src->stats().requests, 20u);
  EXPECT_GE(src->stats().requests, 5u);
  EXPECT_EQ(src->stats().ranges, 301u);
}

TEST(HttpSourceTest, ServerAnsweringOneRangeOnlyFallsBackToSingleRanges) {
  HttpTestServer server(1'000'000, HttpTestServer::Mode::kSingleRangeOnly);
  auto src = open_source(server.url(), fast_options());
  check_read_v(*src, {{10, 100}, {5000, 3000}, {700'000, 50'000}, {999'000, 1000}});
  EXPECT_FALSE(dynamic_cast<HttpSource*>(src.get())->multi_range());
  check_read_v(*src, {{1, 2}, {3000, 30}, {900'000, 10}});  // now one range per request
}

TEST(HttpSourceTest, ServerMergingRangesIntoOneIsFine) {
  HttpTestServer server(1'000'000, HttpTestServer::Mode::kMergeRanges);
  auto src = open_source(server.url(), fast_options());
  check_read_v(*src, {{10, 100}, {5000, 3000}, {20'000, 500}, {999'000, 1000}});
}

TEST(HttpSourceTest, ServerIgnoringRangesSmallFileIsDownloadedOnce) {
  HttpTestServer server(300'000, HttpTestServer::Mode::kIgnoreRanges);
  auto src = open_source(server.url(), fast_options());
  EXPECT_EQ(src->size(), 300'000u);
  const int after_open = server.requests();
  EXPECT_EQ(read_vec(*src, 1234, 5678), expected(1234, 5678));
  check_read_v(*src, {{0, 10}, {299'990, 10}});
  EXPECT_EQ(server.requests(), after_open);  // served from memory
}

TEST(HttpSourceTest, ServerIgnoringRangesLargeFileIsRefusedClearly) {
  HttpTestServer server(HttpSource::kWholeFileLimit + 1, HttpTestServer::Mode::kIgnoreRanges);
  const auto t0 = Clock::now();
  auto e = error_of([&] { open_source(server.url(), fast_options()); });
  EXPECT_LT(seconds_since(t0), 5.0);  // the probe stops after its byte: no 64 MiB download
  EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("ignores Range requests"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(server.url()), std::string::npos) << e.what();
}

TEST(HttpSourceTest, LargeReadIsSplitIntoParallelRequests) {
  const uint64_t n = 3 * HttpSource::kMaxBytesPerRequest + 12'345;
  HttpTestServer server(n + 100, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  EXPECT_EQ(read_vec(*src, 50, n), expected(50, n));
  EXPECT_EQ(src->stats().requests, 4u);
  EXPECT_LE(server.connections(), static_cast<int>(HttpSource::kConnections) + 1);
}

TEST(HttpSourceTest, DroppedConnectionIsRetried) {
  HttpTestServer server(500'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options(2));
  server.drop_next(2);
  EXPECT_EQ(read_vec(*src, 1000, 200'000), expected(1000, 200'000));
  EXPECT_EQ(src->stats().retries, 2u);
  server.drop_next(1);
  check_read_v(*src, {{0, 100}, {10'000, 100}, {400'000, 50'000}});  // a multipart body cut short
  EXPECT_EQ(src->stats().retries, 3u);
}

TEST(HttpSourceTest, DroppedConnectionWithoutRetriesIsAnErrorNamingUrlAndRange) {
  HttpTestServer server(500'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options(0));
  server.drop_next(1);
  auto e = error_of([&] { read_vec(*src, 1000, 200'000); });
  EXPECT_EQ(e.code(), ErrorCode::kIo);
  const std::string what = e.what();
  EXPECT_NE(what.find(server.url()), std::string::npos) << what;
  EXPECT_NE(what.find("200000 bytes at offset 1000"), std::string::npos) << what;
  // The source stays usable.
  EXPECT_EQ(read_vec(*src, 1000, 10), expected(1000, 10));
}

TEST(HttpSourceTest, ServiceUnavailableIsRetriedWithBackoff) {
  HttpTestServer server(10'000, HttpTestServer::Mode::kRanges);
  server.fail_next(2);  // the size probe twice
  auto src = open_source(server.url(), fast_options(3));
  EXPECT_EQ(src->stats().retries, 2u);
  server.fail_next(1);
  EXPECT_EQ(read_vec(*src, 0, 100), expected(0, 100));
  EXPECT_EQ(src->stats().retries, 3u);
  server.fail_next(5);
  auto e = error_of([&] { read_vec(*src, 0, 100); });
  EXPECT_NE(std::string(e.what()).find("503"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("tried 4 times"), std::string::npos) << e.what();
}

TEST(HttpSourceTest, FollowsRedirectsAndGoesToTheTargetDirectly) {
  HttpTestServer server(10'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url("/moved"), fast_options());
  EXPECT_EQ(src->size(), 10'000u);
  EXPECT_EQ(src->url(), server.url("/moved"));
  EXPECT_EQ(server.requests(), 2);  // the redirect and its target
  EXPECT_EQ(read_vec(*src, 5000, 100), expected(5000, 100));
  EXPECT_EQ(server.requests(), 3);  // straight to the target
  // The target fails once: the read goes back through the original URL (not a retry).
  server.fail_next(1);
  EXPECT_EQ(read_vec(*src, 100, 100), expected(100, 100));
  EXPECT_EQ(server.requests(), 6);
  EXPECT_EQ(src->stats().retries, 0u);
  EXPECT_EQ(read_vec(*src, 200, 100), expected(200, 100));
  EXPECT_EQ(server.requests(), 7);  // the target again
}

TEST(HttpSourceTest, BearerTokenFromOptionsOrEnvironment) {
  HttpTestServer server(1000, HttpTestServer::Mode::kRanges);
  SourceOptions o = fast_options();
  o.bearer_token = "abc.def";
  auto src = open_source(server.url(), o);
  read_vec(*src, 0, 10);
  EXPECT_EQ(server.last_authorization(), "Bearer abc.def");
  ::setenv("BEARER_TOKEN", "from-env", 1);
  auto src2 = open_source(server.url(), fast_options());
  ::unsetenv("BEARER_TOKEN");
  EXPECT_EQ(server.last_authorization(), "Bearer from-env");
}

TEST(HttpSourceTest, ConcurrentReadsReuseConnections) {
  HttpTestServer server(2'000'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < 50; ++i) {
        const uint64_t off = rng() % 1'900'000, n = 1 + rng() % 50'000;
        if (read_vec(*src, off, n) != expected(off, n)) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(src->stats().requests, 200u);
  // 200 requests over kept-alive connections: a handful per thread, not one per request.
  EXPECT_LE(server.connections(), 4 * static_cast<int>(HttpSource::kConnections) + 1);
}

TEST(HttpSourceTest, CoalescedReadOverHttp) {
  HttpTestServer server(3'000'000, HttpTestServer::Mode::kRanges);
  auto src = open_source(server.url(), fast_options());
  std::vector<ByteRange> ranges;
  for (uint64_t off = 0; off < 2'900'000; off += 30'000) ranges.push_back({off, 1000});
  auto got = read_coalesced(*src, ranges, src->limits().coalesce_gap);
  for (std::size_t i = 0; i < ranges.size(); ++i)
    ASSERT_TRUE(std::equal(got.parts[i].begin(), got.parts[i].end(), expected(ranges[i].offset, 1000).begin()));
  EXPECT_LT(got.blocks.size(), ranges.size());
  EXPECT_LE(src->stats().requests, HttpSource::kConnections);
}

// ---------------------------------------------------------------------------------------------
// multipart/byteranges parsing

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/byteranges; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/ByteRanges;charset=x; Boundary=\"a b\""), "a b");
  EXPECT_EQ(multipart_boundary("application/octet-stream"), "");
}

TEST(Multipart, PartsWithCrlfOrLfAndBoundaryLookalikesInData) {
  const std::string body =
      "preamble\r\n--XY\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 10-14/100\r\n\r\n"
      "--XY-\r\n--XY\nContent-range: bytes 50-52/*\n\nabc\n--XY--\r\n";
  auto b = bytes_of(body);
  auto parts = parse_multipart(b, "XY");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].offset, 10u);
  EXPECT_EQ(std::string(parts[0].data.begin(), parts[0].data.end()), "--XY-");
  EXPECT_EQ(parts[1].offset, 50u);
  EXPECT_EQ(std::string(parts[1].data.begin(), parts[1].data.end()), "abc");
}

TEST(Multipart, MalformedBodiesAreErrors) {
  for (const std::string& body : {std::string("no boundary at all"),
                                 std::string("--XY\r\nContent-Range: bytes 0-9/10\r\n\r\nshort"),
                                 std::string("--XY\r\nContent-Type: x\r\n\r\ndata\r\n--XY--"),
                                 std::string("--XY\r\nContent-Range: bytes 9-0/10\r\n\r\n\r\n--XY--")}) {
    auto b = bytes_of(body);
    EXPECT_EQ(error_of([&] { parse_multipart(b, "XY"); }).code(), ErrorCode::kIo) << body;
  }
}

}  // namespace
}  // namespace m4h::io
