#include "root/column_format.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace m4h::root {

namespace {

template <typename F>
void append_float(std::string& out, F v) {
  if (std::isnan(v)) {
    out += "\"nan\"";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "\"inf\"" : "\"-inf\"";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}

template <typename I>
void append_int(std::string& out, I v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_scalar(std::string& out, const Column& c, int64_t i) {
  const uint8_t* p = c.values.data() + i * dtype_size(c.dtype);
  auto get = [p](auto t) {
    decltype(t) v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (c.dtype) {
    case DType::kBool: out += *p ? "true" : "false"; break;
    case DType::kInt8: append_int(out, get(int8_t{})); break;
    case DType::kUInt8: append_int(out, get(uint8_t{})); break;
    case DType::kInt16: append_int(out, get(int16_t{})); break;
    case DType::kUInt16: append_int(out, get(uint16_t{})); break;
    case DType::kInt32: append_int(out, get(int32_t{})); break;
    case DType::kUInt32: append_int(out, get(uint32_t{})); break;
    case DType::kInt64: append_int(out, get(int64_t{})); break;
    case DType::kUInt64: append_int(out, get(uint64_t{})); break;
    case DType::kFloat32: append_float(out, get(float{})); break;
    case DType::kFloat64: append_float(out, get(double{})); break;
    case DType::kChar: append_int(out, get(int8_t{})); break;
  }
}

// Item `i` (a value, or a fixed-shape block of values) starting at dimension `dim`.
void append_item(std::string& out, const Column& c, int64_t first_value, std::size_t dim) {
  if (dim == c.shape.size()) {
    append_scalar(out, c, first_value);
    return;
  }
  int64_t stride = 1;
  for (std::size_t d = dim + 1; d < c.shape.size(); ++d) stride *= c.shape[d];
  out += '[';
  for (int k = 0; k < c.shape[dim]; ++k) {
    if (k) out += ',';
    append_item(out, c, first_value + k * stride, dim + 1);
  }
  out += ']';
}

// Element `i` of nesting level `level` (level == offsets.size() means an item of values).
void append_level(std::string& out, const Column& c, std::size_t level, int64_t i) {
  const bool is_string = c.dtype == DType::kChar;
  if (is_string && level + 1 == c.offsets.size()) {
    const auto& off = c.offsets[level];
    append_json_string(out, std::string_view(reinterpret_cast<const char*>(c.values.data()) + off[i],
                                             static_cast<std::size_t>(off[i + 1] - off[i])));
    return;
  }
  if (level == c.offsets.size()) {
    append_item(out, c, i * c.items_per_value(), 0);
    return;
  }
  const auto& off = c.offsets[level];
  out += '[';
  for (int64_t k = off[i]; k < off[i + 1]; ++k) {
    if (k != off[i]) out += ',';
    append_level(out, c, level + 1, k);
  }
  out += ']';
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto ch = static_cast<unsigned char>(s[i]);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
      ++i;
    } else if (ch < 0x20) {
      static const char* hex = "0123456789abcdef";
      switch (ch) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
          out += "\\u00";
          out += hex[ch >> 4];
          out += hex[ch & 15];
      }
      ++i;
    } else if (ch < 0x80) {
      out += static_cast<char>(ch);
      ++i;
    } else if (std::size_t n = utf8_sequence(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {  // not UTF-8: Latin-1
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[ch >> 4];
      out += hex[ch & 15];
      ++i;
    }
  }
  out += '"';
}

void append_json_entry(std::string& out, const Column& col, int64_t entry) {
  if (!col.fields.empty()) {  // a record: {"field": value, ...}
    out += '{';
    for (std::size_t f = 0; f < col.fields.size(); ++f) {
      if (f) out += ',';
      append_json_string(out, col.field_names[f]);
      out += ':';
      append_json_entry(out, col.fields[f], entry);
    }
    out += '}';
    return;
  }
  append_level(out, col, 0, entry);
}

void append_csv_cell(std::string& out, const Column& col, int64_t entry) {
  std::string text;
  const bool plain_string = col.dtype == DType::kChar && col.offsets.size() == 1 && col.fields.empty();
  if (plain_string) {  // the string itself, not its JSON form
    const auto& off = col.offsets[0];
    text.assign(reinterpret_cast<const char*>(col.values.data()) + off[entry],
                static_cast<std::size_t>(off[entry + 1] - off[entry]));
    if (text.find_first_of(",\"\n\r") == std::string::npos) {
      out += text;
      return;
    }
  } else {
    append_json_entry(text, col, entry);
  }
  bool plain = col.fields.empty() && col.offsets.empty() && col.shape.empty() && text.find_first_of(",\"\n") == std::string::npos;
  if (plain) {
    out += text;
    return;
  }
  out += '"';
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

}  // namespace m4h::root
