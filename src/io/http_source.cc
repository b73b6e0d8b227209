#include "io/http_source.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "core/error.h"

namespace m4h::io {

namespace {

using Clock = std::chrono::steady_clock;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  s = trim(s);
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"), or "bytes */TOTAL" (in a 416 answer).
struct ContentRange {
  bool has_range = false;
  uint64_t first = 0, last = 0;
  int64_t total = -1;
};

bool parse_content_range(std::string_view v, ContentRange& out) {
  v = trim(v);
  if (lower(v.substr(0, 6)) != "bytes ") return false;
  v.remove_prefix(6);
  auto slash = v.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view range = trim(v.substr(0, slash)), total = trim(v.substr(slash + 1));
  out = {};
  if (total != "*") {
    uint64_t t = 0;
    if (!parse_u64(total, t)) return false;
    out.total = static_cast<int64_t>(t);
  }
  if (range == "*") return out.total >= 0;
  auto dash = range.find('-');
  if (dash == std::string_view::npos) return false;
  if (!parse_u64(range.substr(0, dash), out.first) || !parse_u64(range.substr(dash + 1), out.last)) return false;
  if (out.last < out.first) return false;
  out.has_range = true;
  return true;
}

struct Interval {
  uint64_t begin = 0, end = 0;
};

std::string shorten(std::string s, std::size_t max = 80) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string read_token_file(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(trim(ss.str()));
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  std::string lc = lower(content_type);
  if (trim(std::string_view(lc).substr(0, lc.find(';'))) != "multipart/byteranges") return {};
  std::size_t pos = 0;
  while ((pos = lc.find(';', pos)) != std::string::npos) {
    ++pos;
    std::string_view param = trim(std::string_view(content_type).substr(pos, lc.find(';', pos) - pos));
    auto eq = param.find('=');
    if (eq == std::string_view::npos || lower(trim(param.substr(0, eq))) != "boundary") continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return {};
}

std::vector<MultipartPart> parse_multipart(std::span<const uint8_t> body, std::string_view boundary) {
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  const std::string delim = "--" + std::string(boundary);
  auto bad = [](const std::string& why) { return Error(ErrorCode::kIo, "malformed multipart/byteranges response: " + why); };
  if (boundary.empty()) throw bad("no boundary");
  std::vector<MultipartPart> parts;
  std::size_t pos = text.find(delim);
  if (pos == std::string_view::npos) throw bad("no boundary line");
  for (;;) {
    pos += delim.size();
    if (text.substr(pos, 2) == "--") return parts;  // the closing delimiter
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) throw bad("truncated after a boundary");
    pos = eol + 1;
    // Part headers up to an empty line (CRLF or bare LF line ends).
    ContentRange cr;
    bool have_range = false;
    for (;;) {
      eol = text.find('\n', pos);
      if (eol == std::string_view::npos) throw bad("truncated part headers");
      std::string_view line = text.substr(pos, eol - pos);
      pos = eol + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) break;
      auto colon = line.find(':');
      if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == "content-range") {
        if (!parse_content_range(line.substr(colon + 1), cr) || !cr.has_range)
          throw bad("bad Content-Range '" + std::string(line.substr(colon + 1)) + "'");
        have_range = true;
      }
    }
    if (!have_range) throw bad("a part has no Content-Range");
    const uint64_t length = cr.last - cr.first + 1;
    if (length > text.size() - pos) throw bad("a part is shorter than its Content-Range");
    parts.push_back({cr.first, body.subspan(pos, static_cast<std::size_t>(length))});
    pos += static_cast<std::size_t>(length);
    pos = text.find(delim, pos);
    if (pos == std::string_view::npos) throw bad("no closing boundary");
  }
}

struct HttpSource::Session {
  CURLM* multi = nullptr;
  std::vector<CURL*> easy;
  curl_slist* headers = nullptr;
  ~Session() {
    for (CURL* e : easy) curl_easy_cleanup(e);
    if (multi) curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
  }
};

struct HttpSource::Transfer {
  struct Piece {
    uint64_t offset = 0, length = 0;
    uint8_t* out = nullptr;
  };
  std::vector<Piece> pieces;  // sorted by offset
  std::string range;          // Range header value "A-B,C-D"; empty: no Range header
  bool multi = false;         // several ranges in one request
  bool accept_whole = false;  // a 200 with the whole file is usable (the size probe, whole downloads)
  bool probe = false;
  bool origin = false;        // ask url_, not the cached redirect target
  std::string target;         // the URL of the current attempt
  int attempt = 0;
  Clock::time_point not_before{};

  // The response of the current attempt.
  enum class Mode { kUndecided, kStream, kMultipart, kDiscard };
  Mode mode = Mode::kUndecided;
  CURL* easy = nullptr;
  long status = 0;
  std::string status_line, content_type, content_range;
  int64_t content_length = -1;
  uint64_t base = 0, received = 0, want_end = 0;
  std::vector<uint8_t> body;  // a multipart body
  uint64_t body_limit = 0;
  bool stopped = false;       // our write callback ended the transfer on purpose
  bool stalled = false;       // our progress callback ended it: no byte for the timeout
  Clock::duration stall_limit{};
  Clock::time_point last_progress{};
  curl_off_t last_now = -1;
  bool unusable = false;      // the server ignored the ranges asked (200 or an oversized body)
  std::string callback_error;
  std::vector<Interval> delivered;
  std::string effective_url;  // after redirects
  char errbuf[CURL_ERROR_SIZE] = {};

  void reset(CURL* e) {
    mode = Mode::kUndecided;
    easy = e;
    status = 0;
    status_line.clear();
    content_type.clear();
    content_range.clear();
    content_length = -1;
    base = received = 0;
    want_end = 0;
    uint64_t requested = 0;
    for (const auto& p : pieces) {
      want_end = std::max(want_end, p.offset + p.length);
      requested += p.length;
    }
    body.clear();
    body_limit = 2 * requested + (1 << 20);
    stopped = unusable = stalled = false;
    last_progress = Clock::now();
    last_now = -1;
    callback_error.clear();
    delivered.clear();
    errbuf[0] = 0;
  }

  // Copies the body bytes [at, at + n) of the file into the pieces they overlap.
  void scatter(uint64_t at, const uint8_t* data, uint64_t n) {
    const uint64_t end = at + n;
    for (const auto& p : pieces) {
      const uint64_t lo = std::max(at, p.offset), hi = std::min(end, p.offset + p.length);
      if (lo < hi) std::memcpy(p.out + (lo - p.offset), data + (lo - at), hi - lo);
    }
  }

  void decide() {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status == 206) {
      if (!multipart_boundary(content_type).empty()) {
        mode = Mode::kMultipart;
        return;
      }
      ContentRange cr;
      if (!parse_content_range(content_range, cr) || !cr.has_range) {
        callback_error = "206 answer without a valid Content-Range ('" + content_range + "')";
        return;
      }
      base = cr.first;
      mode = Mode::kStream;
    } else if (status == 200) {
      if (accept_whole || range.empty()) {
        base = 0;
        mode = Mode::kStream;
      } else {
        unusable = true;
      }
    } else {
      mode = Mode::kDiscard;
    }
  }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    if (t->mode == Mode::kUndecided) t->decide();
    switch (t->mode) {
      case Mode::kDiscard: return len;
      case Mode::kStream: {
        t->scatter(t->base + t->received, reinterpret_cast<const uint8_t*>(data), len);
        t->received += len;
        // A 200 carries the whole file: stop once the bytes we need have arrived.
        if (t->status == 200 && t->base + t->received >= t->want_end && !t->range.empty()) {
          t->stopped = true;
          return 0;
        }
        return len;
      }
      case Mode::kMultipart:
        if (t->body.size() + len > t->body_limit) {
          t->unusable = true;  // far more than asked for: the server merged distant ranges
          t->stopped = true;
          return 0;
        }
        t->body.insert(t->body.end(), data, data + len);
        return len;
      case Mode::kUndecided: t->stopped = true; return 0;  // unusable or callback_error
    }
    return 0;
  }

  // curl calls this about once a second even when nothing arrives: a transfer whose byte
  // count has not moved for the timeout is ended (a hung server), however long it has run.
  static int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* t = static_cast<Transfer*>(user);
    const auto now = Clock::now();
    if (dlnow + ulnow != t->last_now) {
      t->last_now = dlnow + ulnow;
      t->last_progress = now;
      return 0;
    }
    if (now - t->last_progress < t->stall_limit) return 0;
    t->stalled = true;
    return 1;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    std::string_view line(data, len);
    if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect or a 100 Continue)
      t->status_line = std::string(trim(line));
      t->content_type.clear();
      t->content_range.clear();
      t->content_length = -1;
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-type") t->content_type = std::string(value);
    else if (name == "content-range") t->content_range = std::string(value);
    else if (name == "content-length") {
      uint64_t v = 0;
      if (parse_u64(value, v)) t->content_length = static_cast<int64_t>(v);
    }
    return len;
  }

  std::string request_text() const {
    return range.empty() ? "GET" : "GET bytes=" + shorten(range);
  }
};

HttpSource::HttpSource(std::string url, const SourceOptions& options) : url_(std::move(url)), options_(options) {
  global_init();
  limits_.max_ranges_per_request = 1 << 16;  // read_v plans its own requests
  limits_.max_bytes_per_range = kMaxBytesPerRequest;
  limits_.coalesce_gap = kRemoteCoalesceGap;
  limits_.batch_reads = true;
  limits_ = apply_coalesce_option(limits_, options.coalesce_gap);
  std::string token = options.bearer_token;
  if (token.empty())
    if (const char* t = std::getenv("BEARER_TOKEN")) token = std::string(trim(t));
  if (token.empty())
    if (const char* f = std::getenv("BEARER_TOKEN_FILE")) token = read_token_file(f);
  if (!token.empty()) auth_header_ = "Authorization: Bearer " + token;

  // The size, and whether ranges work, from a one-byte range request.
  uint8_t first = 0;
  Transfer probe;
  probe.probe = true;
  probe.accept_whole = true;
  probe.range = "0-0";
  probe.pieces = {{0, 1, &first}};
  run({&probe}, "open", /*counted=*/false);
  ContentRange cr;
  if (probe.status == 206 || probe.status == 416) {
    if (!parse_content_range(probe.content_range, cr) || cr.total < 0)
      throw Error(ErrorCode::kUnsupported, url_ + ": the server gives no file size (Content-Range '" +
                                               probe.content_range + "' in answer to a Range request)");
    size_ = static_cast<uint64_t>(cr.total);
    return;
  }
  // 200: the server ignores ranges.
  ranges_ok_ = false;
  multi_range_ok_ = false;
  if (probe.content_length < 0)
    throw Error(ErrorCode::kUnsupported, url_ + ": the server ignores Range requests and gives no Content-Length");
  size_ = static_cast<uint64_t>(probe.content_length);
  if (size_ > kWholeFileLimit)
    throw Error(ErrorCode::kUnsupported,
                url_ + ": the server ignores Range requests (it answered 200 with the whole file) and the file has " +
                    std::to_string(size_) + " bytes; refusing to download more than " +
                    std::to_string(kWholeFileLimit) + " bytes for random access");
  whole_.resize(size_);
  if (size_ == 0) return;
  Transfer all;
  all.accept_whole = true;
  all.pieces = {{0, size_, whole_.data()}};
  run({&all}, "download of the whole file (" + std::to_string(size_) + " bytes)");
}

HttpSource::~HttpSource() = default;

std::unique_ptr<HttpSource::Session> HttpSource::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
  }
  auto s = std::make_unique<Session>();
  s->multi = curl_multi_init();
  if (!s->multi) throw Error(ErrorCode::kInternal, url_ + ": curl_multi_init failed");
  curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(2 * kConnections));
  if (!auth_header_.empty()) s->headers = curl_slist_append(nullptr, auth_header_.c_str());
  const long timeout_ms = static_cast<long>(std::clamp(options_.timeout_s, 0.001, 1e6) * 1000);
  const char* ca_dir = std::getenv("X509_CERT_DIR");  // the grid's CA directory, when set
  for (std::size_t i = 0; i < kConnections; ++i) {
    CURL* e = curl_easy_init();
    if (!e) throw Error(ErrorCode::kInternal, url_ + ": curl_easy_init failed");
    s->easy.push_back(e);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    // The timeout bounds a stall, not a whole transfer: a request of tens of MB over a slow
    // link may take longer than --timeout; one that receives nothing for that long is hung
    // (Transfer::on_progress). curl's own low-speed check averages over several seconds and
    // fired up to twice the timeout after a fast transfer stopped.
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mlaas4hep/0.1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    if (s->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    if (ca_dir && *ca_dir) curl_easy_setopt(e, CURLOPT_CAPATH, ca_dir);
  }
  return s;
}

void HttpSource::release(std::unique_ptr<Session> s) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 16) idle_.push_back(std::move(s));
}

namespace {

bool retriable_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
  }
}

bool retriable_status(long s) { return s == 408 || s == 429 || s >= 500; }

}  // namespace

void HttpSource::run(std::vector<Transfer*> todo, const std::string& what, bool counted) {
  auto session = acquire();
  std::vector<std::unique_ptr<Transfer>> spawned;  // single-range requests planned here
  std::deque<Transfer*> queue(todo.begin(), todo.end());
  std::vector<CURL*> free_easy(session->easy.rbegin(), session->easy.rend());
  std::unordered_map<CURL*, Transfer*> active;
  uint64_t requests = 0;

  // On an error, transfers still running are dropped (their connections closed) before the
  // session goes back to the pool.
  struct Guard {
    HttpSource* self;
    std::unique_ptr<Session>& session;
    std::unordered_map<CURL*, Transfer*>& active;
    uint64_t& requests;
    bool counted;
    ~Guard() {
      for (auto& [e, t] : active) {
        curl_multi_remove_handle(session->multi, e);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
      }
      if (counted) self->count(requests, 0, 0);
      self->release(std::move(session));
    }
  } guard{this, session, active, requests, counted};

  const std::string prefix = url_ + ": " + what;
  auto backoff = [&](int attempt) {
    double s = options_.backoff_s;
    for (int i = 1; i < attempt && s < 30; ++i) s *= 2;
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::clamp(s, 0.0, 30.0)));
  };
  auto retry_or_throw = [&](Transfer* t, ErrorCode code, const std::string& msg, bool retriable) {
    if (t->target != url_) {
      // The cached redirect target failed (it may have expired): ask the original URL again.
      {
        std::lock_guard lock(data_url_mu_);
        if (data_url_ == t->target) data_url_.clear();
      }
      t->origin = true;
      queue.push_back(t);
      return;
    }
    if (retriable && t->attempt < options_.retries) {
      ++t->attempt;
      count_retry();
      t->not_before = Clock::now() + backoff(t->attempt);
      queue.push_back(t);
      return;
    }
    throw Error(code, prefix + " failed: " + t->request_text() + ": " + msg +
                          (t->attempt > 0 ? " (tried " + std::to_string(t->attempt + 1) + " times)" : ""));
  };
  // The pieces of `t` that the response left unfilled become single-range requests.
  auto replan_singles = [&](Transfer* t, const std::vector<Transfer::Piece>& pieces) {
    for (const auto& p : pieces) {
      auto s = std::make_unique<Transfer>();
      s->pieces = {p};
      s->range = std::to_string(p.offset) + "-" + std::to_string(p.offset + p.length - 1);
      queue.push_back(s.get());
      spawned.push_back(std::move(s));
    }
  };

  auto finish = [&](Transfer* t, CURLcode res) {
    if (t->stopped && res == CURLE_WRITE_ERROR) res = CURLE_OK;  // ended on purpose
    if (!t->callback_error.empty()) {
      retry_or_throw(t, ErrorCode::kIo, t->callback_error, false);
      return;
    }
    if (t->unusable) {
      if (!t->multi)
        throw Error(ErrorCode::kIo, prefix + " failed: " + t->request_text() +
                                        ": the server answered a Range request with the whole file (HTTP 200)");
      multi_range_ok_ = false;  // from now on one range per request
      replan_singles(t, t->pieces);
      return;
    }
    if (res != CURLE_OK) {
      std::string msg = t->errbuf[0] ? std::string(t->errbuf) : std::string(curl_easy_strerror(res));
      const bool timed_out = res == CURLE_OPERATION_TIMEDOUT || (res == CURLE_ABORTED_BY_CALLBACK && t->stalled);
      if (timed_out) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", options_.timeout_s);
        msg = t->stalled ? std::string("timed out: no data for ") + secs + " s"
                         : std::string("timed out after ") + secs + " s: " + msg;
      }
      retry_or_throw(t, ErrorCode::kIo, msg, timed_out || retriable_curl(res));
      return;
    }
    if (t->probe && (t->status == 416 || t->status == 206 || t->status == 200)) return;
    if (t->status != 200 && t->status != 206) {
      const std::string msg = t->status_line.empty() ? "HTTP " + std::to_string(t->status) : t->status_line;
      const ErrorCode code = (t->status == 404 || t->status == 410) ? ErrorCode::kNotFound : ErrorCode::kIo;
      retry_or_throw(t, code, msg, retriable_status(t->status));
      return;
    }
    if (t->mode == Transfer::Mode::kMultipart) {
      std::vector<MultipartPart> parts;
      try {
        parts = parse_multipart(t->body, multipart_boundary(t->content_type));
      } catch (const Error& e) {
        retry_or_throw(t, ErrorCode::kIo, e.message(), true);
        return;
      }
      for (const auto& p : parts) {
        t->scatter(p.offset, p.data.data(), p.data.size());
        t->delivered.push_back({p.offset, p.offset + p.data.size()});
      }
    } else if (t->mode == Transfer::Mode::kStream) {
      t->delivered.push_back({t->base, t->base + t->received});
    }
    // Every piece must lie inside what the server sent.
    std::sort(t->delivered.begin(), t->delivered.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    std::vector<Interval> merged;
    for (const auto& d : t->delivered) {
      if (!merged.empty() && d.begin <= merged.back().end) merged.back().end = std::max(merged.back().end, d.end);
      else merged.push_back(d);
    }
    std::vector<Transfer::Piece> missing;
    for (const auto& p : t->pieces) {
      auto it = std::upper_bound(merged.begin(), merged.end(), p.offset,
                                 [](uint64_t off, const Interval& iv) { return off < iv.begin; });
      if (it == merged.begin() || std::prev(it)->end < p.offset + p.length) missing.push_back(p);
    }
    if (missing.empty()) return;
    if (t->multi) {
      multi_range_ok_ = false;  // the server answered fewer ranges than asked
      replan_singles(t, missing);
      return;
    }
    retry_or_throw(t, ErrorCode::kIo,
                   "incomplete response (" + std::to_string(t->received) + " bytes of " +
                       std::to_string(t->pieces.front().length) + ")",
                   true);
  };

  while (!queue.empty() || !active.empty()) {
    auto now = Clock::now();
    for (auto it = queue.begin(); it != queue.end() && !free_easy.empty();) {
      Transfer* t = *it;
      if (t->not_before > now) {
        ++it;
        continue;
      }
      CURL* e = free_easy.back();
      free_easy.pop_back();
      t->reset(e);
      {
        std::lock_guard lock(data_url_mu_);
        t->target = t->origin || data_url_.empty() ? url_ : data_url_;
      }
      curl_easy_setopt(e, CURLOPT_URL, t->target.c_str());
      curl_easy_setopt(e, CURLOPT_PRIVATE, t);
      curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
      curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
      curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
      t->stall_limit = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(std::clamp(options_.timeout_s, 0.001, 1e6)));
      curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
      curl_easy_setopt(e, CURLOPT_RANGE, t->range.empty() ? nullptr : t->range.c_str());
      CURLMcode mc = curl_multi_add_handle(session->multi, e);
      if (mc != CURLM_OK) {
        free_easy.push_back(e);
        throw Error(ErrorCode::kInternal, prefix + ": curl_multi_add_handle: " + curl_multi_strerror(mc));
      }
      active[e] = t;
      ++requests;
      it = queue.erase(it);
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(session->multi, &running);
    if (mc != CURLM_OK) throw Error(ErrorCode::kIo, prefix + ": curl_multi_perform: " + curl_multi_strerror(mc));
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(session->multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      const CURLcode res = m->data.result;
      Transfer* t = active.at(e);
      curl_multi_remove_handle(session->multi, e);
      active.erase(e);
      free_easy.push_back(e);
      if (t->status == 0) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->status);
      char* effective = nullptr;
      if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
        t->effective_url = effective;
      if (res == CURLE_OK && (t->status == 200 || t->status == 206) && t->target == url_ &&
          !t->effective_url.empty() && t->effective_url != url_) {
        std::lock_guard lock(data_url_mu_);
        data_url_ = t->effective_url;  // redirected: go there directly from now on
      }
      curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);  // t's buffer may not outlive this call
      finish(t, res);
    }
    if (active.empty()) {
      if (queue.empty()) break;
      auto next = std::min_element(queue.begin(), queue.end(),
                                   [](Transfer* a, Transfer* b) { return a->not_before < b->not_before; });
      std::this_thread::sleep_until((*next)->not_before);
      continue;
    }
    int wait_ms = 1000;
    if (!queue.empty() && !free_easy.empty()) {
      auto next = std::min_element(queue.begin(), queue.end(),
                                   [](Transfer* a, Transfer* b) { return a->not_before < b->not_before; });
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>((*next)->not_before - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(until, 0, 1000));
    }
    curl_multi_poll(session->multi, nullptr, 0, wait_ms, nullptr);
  }
}

void HttpSource::fill(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs, bool multi) {
  std::vector<Transfer::Piece> pieces;
  uint64_t total = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i)
    for (uint64_t done = 0; done < ranges[i].length; done += kMaxBytesPerRequest) {
      const uint64_t n = std::min(kMaxBytesPerRequest, ranges[i].length - done);
      pieces.push_back({ranges[i].offset + done, n, outs[i].data() + done});
      total += n;
    }
  if (pieces.empty()) return;
  std::sort(pieces.begin(), pieces.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
  // Requests of about total / kConnections bytes each, so that the connections share the work.
  const uint64_t per_request =
      std::clamp<uint64_t>((total + kConnections - 1) / kConnections, 256 << 10, kMaxBytesPerRequest);
  std::vector<std::unique_ptr<Transfer>> transfers;
  uint64_t bytes = 0;
  for (const auto& p : pieces) {
    Transfer* t = transfers.empty() ? nullptr : transfers.back().get();
    if (!t || !multi || t->pieces.size() >= kMaxRangesPerRequest || bytes >= per_request ||
        bytes + p.length > kMaxBytesPerRequest) {
      transfers.push_back(std::make_unique<Transfer>());
      t = transfers.back().get();
      bytes = 0;
    }
    if (!t->range.empty()) t->range += ',';
    t->range += std::to_string(p.offset) + "-" + std::to_string(p.offset + p.length - 1);
    t->pieces.push_back(p);
    bytes += p.length;
  }
  std::vector<Transfer*> todo;
  for (auto& t : transfers) {
    t->multi = t->pieces.size() > 1;
    todo.push_back(t.get());
  }
  std::string what;
  if (ranges.size() == 1) {
    what = "read of " + std::to_string(ranges[0].length) + " bytes at offset " + std::to_string(ranges[0].offset);
  } else {
    what = "read of " + std::to_string(ranges.size()) + " ranges (" + std::to_string(total) +
           " bytes between offsets " + std::to_string(pieces.front().offset) + " and " +
           std::to_string(pieces.back().offset + pieces.back().length) + ")";
  }
  run(std::move(todo), what);
}

void HttpSource::read_at(uint64_t offset, std::span<uint8_t> out) {
  check_range(offset, out.size(), size_);
  if (ranges_ok_) {
    const ByteRange r{offset, out.size()};
    fill(std::span<const ByteRange>(&r, 1), std::span<const std::span<uint8_t>>(&out, 1), multi_range_ok_.load());
  } else if (!out.empty()) {
    std::memcpy(out.data(), whole_.data() + offset, out.size());
  }
  count(0, 1, out.size());
}

void HttpSource::read_v(std::span<const ByteRange> ranges, std::span<const std::span<uint8_t>> outs) {
  if (ranges.size() != outs.size())
    throw Error(ErrorCode::kInternal, "read_v: ranges and buffers differ in count");
  uint64_t bytes = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (outs[i].size() != ranges[i].length)
      throw Error(ErrorCode::kInternal, "read_v: buffer size differs from range length");
    check_range(ranges[i].offset, ranges[i].length, size_);
    bytes += ranges[i].length;
  }
  if (ranges_ok_) {
    fill(ranges, outs, multi_range_ok_.load());
  } else {
    for (std::size_t i = 0; i < ranges.size(); ++i)
      if (ranges[i].length) std::memcpy(outs[i].data(), whole_.data() + ranges[i].offset, ranges[i].length);
  }
  count(0, ranges.size(), bytes);
}

}  // namespace m4h::io
