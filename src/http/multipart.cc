#include "http/multipart.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace m4h::http {
namespace {

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "multipart body: " + what);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The value of `key=` among a header value's ;-separated parameters (quoted or not); the first
// item (the media type or "form-data") is skipped.
std::string parameter(std::string_view value, std::string_view key) {
  size_t i = 0;
  while (i < value.size()) {
    const size_t semi = value.find(';', i);
    if (semi == std::string_view::npos) return {};
    const size_t eq = value.find('=', semi + 1);
    if (eq == std::string_view::npos) return {};
    const std::string k = lower(trim(value.substr(semi + 1, eq - semi - 1)));
    i = eq + 1;
    while (i < value.size() && value[i] == ' ') ++i;
    std::string v;
    if (i < value.size() && value[i] == '"') {
      size_t end = value.find('"', i + 1);
      if (end == std::string_view::npos) end = value.size();
      v = std::string(value.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      const size_t end = std::min(value.find(';', i), value.size());
      v = std::string(trim(value.substr(i, end - i)));
      i = end;
    }
    if (k == key) return v;
  }
  return {};
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  if (lower(content_type).find("multipart/form-data") == std::string::npos) return {};
  return parameter(content_type, "boundary");
}

std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 200) bad("no usable boundary");
  const std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) bad("no boundary line");
  std::vector<FormPart> parts;
  for (;;) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") bad("boundary line not followed by CRLF");
    pos += 2;
    const size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) bad("part headers not terminated");
    FormPart part;
    std::string_view head = body.substr(pos, head_end - pos);
    while (!head.empty()) {
      size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) bad("part header without ':'");
      const std::string key = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (key == "content-disposition") {
        part.name = parameter(value, "name");
        part.filename = parameter(value, "filename");
      } else if (key == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const size_t data_start = head_end + 4;
    const size_t next = body.find("\r\n" + delim, data_start);
    if (next == std::string_view::npos) bad("part '" + part.name + "' not terminated (truncated body?)");
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

}  // namespace m4h::http
