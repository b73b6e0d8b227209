// A forward-only scanner for the narrow JSON of the serving fast paths (OIP and TFaaS requests):
// whitespace, punctuation, ASCII strings without escapes and numbers converted as nlohmann
// converts them. Every method returns false on anything else; the caller then leaves the body
// to the full JSON parser, which accepts or rejects it with its own message.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace m4h::serve {

struct JsonScanner {
  const char* p;
  const char* end;

  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool eat(char c) {
    ws();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  // A string of printable ASCII without escapes (anything else: the full parser decodes it).
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* begin = p;
    while (p < end && *p != '"') {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p;
    }
    if (p == end) return false;
    out = std::string_view(begin, static_cast<std::size_t>(p - begin));
    ++p;
    return true;
  }
  // A JSON number, converted as nlohmann does: integers exactly (then to double), other numbers
  // by correctly rounded decimal conversion. `integral`: no fraction or exponent.
  bool number(double& v, bool& integral, bool& negative) {
    ws();
    const char* begin = p;
    const char* q = p;
    negative = q < end && *q == '-';
    if (negative) ++q;
    if (q == end || *q < '0' || *q > '9') return false;
    if (*q == '0') {
      ++q;
    } else {
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    integral = true;
    if (q < end && *q == '.') {
      integral = false;
      ++q;
      if (q == end || *q < '0' || *q > '9') return false;
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
      integral = false;
      ++q;
      if (q < end && (*q == '+' || *q == '-')) ++q;
      if (q == end || *q < '0' || *q > '9') return false;
      while (q < end && *q >= '0' && *q <= '9') ++q;
    }
    p = q;
    if (integral) {  // nlohmann keeps these as int64 (negative) or uint64: "-0" is 0
      if (negative) {
        int64_t i = 0;
        if (std::from_chars(begin, q, i).ec == std::errc()) {
          v = static_cast<double>(i);
          return true;
        }
      } else {
        uint64_t u = 0;
        if (std::from_chars(begin, q, u).ec == std::errc()) {
          v = static_cast<double>(u);
          return true;
        }
      }
      integral = false;  // out of range: nlohmann reads it as a floating-point number
    }
    const auto r = std::from_chars(begin, q, v);
    return r.ec == std::errc() && r.ptr == q;  // overflow: the full parser reports it
  }
  bool at_end() {
    ws();
    return p == end;
  }
};

}  // namespace m4h::serve
