// The plain parts of server.h: request accessors, status counters, access-log sinks.
#include <cstdio>
#include <mutex>

#include "core/error.h"
#include "http/server.h"

namespace m4h::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::string Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    size_t eq = item.find('=');
    if (percent_decode(item.substr(0, eq), true) != name) continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(item.substr(eq + 1), true);
  }
  return {};
}

void StatusCounters::add(int status) {
  if (status >= 100 && status < static_cast<int>(counts_.size())) {
    counts_[static_cast<size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::map<int, int64_t> StatusCounters::snapshot() const {
  std::map<int, int64_t> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    int64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n) out[static_cast<int>(i)] = n;
  }
  return out;
}

std::function<void(std::string_view)> open_access_log(const std::string& where) {
  struct Sink {
    std::mutex mu;
    FILE* f = nullptr;
    bool owned = false;
    ~Sink() {
      if (owned && f) std::fclose(f);
    }
  };
  auto sink = std::make_shared<Sink>();
  if (where == "-") {
    sink->f = stderr;
  } else {
    sink->f = std::fopen(where.c_str(), "a");
    if (!sink->f) throw Error(ErrorCode::kIo, "access log " + where + ": cannot open for appending");
    sink->owned = true;
  }
  return [sink](std::string_view line) {
    std::lock_guard lock(sink->mu);
    std::fwrite(line.data(), 1, line.size(), sink->f);
    std::fputc('\n', sink->f);
    std::fflush(sink->f);  // a crash must not lose the lines that explain it
  };
}

}  // namespace m4h::http
