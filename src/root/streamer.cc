#include "root/streamer.h"

#include <cctype>
#include <cmath>
#include <numbers>

namespace m4h::root {

namespace {

// Evaluates the small expressions ROOT accepts in ranges: numbers, "pi", and products/quotients
// of those ("2*pi", "-pi/2").
double eval_range_term(std::string s) {
  std::string t;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  if (t.empty()) return 0;
  double sign = 1;
  while (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    if (t[0] == '-') sign = -sign;
    t.erase(0, 1);
  }
  double result = 1;
  char op = '*';
  std::size_t i = 0;
  while (i <= t.size()) {
    std::size_t j = t.find_first_of("*/", i);
    if (j == std::string::npos) j = t.size();
    std::string f = t.substr(i, j - i);
    double v = 0;
    std::string lower;
    for (char c : f) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "pi" || lower == "tmath::pi()")
      v = std::numbers::pi;
    else
      v = std::strtod(f.c_str(), nullptr);
    result = op == '*' ? result * v : result / v;
    if (j >= t.size()) break;
    op = t[j];
    i = j + 1;
  }
  return sign * result;
}

}  // namespace

FloatPacking parse_float_packing(const std::string& title, bool is_float16) {
  FloatPacking p;
  auto open = title.find('[');
  auto close = title.find(']', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) {
    if (is_float16) p.nbits = 12;
    return p;
  }
  std::string inside = title.substr(open + 1, close - open - 1);
  std::vector<std::string> parts;
  std::size_t s = 0;
  for (;;) {
    auto c = inside.find(',', s);
    parts.push_back(inside.substr(s, c == std::string::npos ? std::string::npos : c - s));
    if (c == std::string::npos) break;
    s = c + 1;
  }
  // A "[n]" that is only an array dimension has one part: no packing.
  if (parts.size() < 2) {
    if (is_float16) p.nbits = 12;
    return p;
  }
  double xmin = eval_range_term(parts[0]);
  double xmax = eval_range_term(parts[1]);
  int nbits = 32;
  if (parts.size() >= 3) {
    nbits = static_cast<int>(eval_range_term(parts[2]));
    if (nbits < 2 || nbits > 32) nbits = 32;
  }
  if (xmin == 0 && xmax == 0 && parts.size() >= 3) {
    // "[0, 0, n]": no range, only the mantissa is truncated to n bits.
    p.nbits = nbits;
    return p;
  }
  p.xmin = xmin;
  p.xmax = xmax;
  p.nbits = nbits;
  if (xmax > xmin) {
    double bigint = nbits < 32 ? static_cast<double>(1u << nbits) : 4294967295.0;
    p.factor = bigint / (xmax - xmin);
  } else if (is_float16 && p.nbits == 0) {
    p.nbits = 12;
  }
  return p;
}

void StreamerRegistry::add(StreamerInfo info) {
  auto& versions = by_name_[info.name];
  int v = info.class_version;
  versions[v] = std::make_shared<StreamerInfo>(std::move(info));
}

const StreamerInfo* StreamerRegistry::find(const std::string& name, int version) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end() || it->second.empty()) return nullptr;
  if (version >= 0) {
    auto v = it->second.find(version);
    if (v != it->second.end()) return v->second.get();
  }
  return it->second.rbegin()->second.get();
}

const StreamerInfo* StreamerRegistry::find_by_checksum(const std::string& name,
                                                        uint32_t checksum) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  for (const auto& [v, info] : it->second)
    if (info->checksum == checksum) return info.get();
  return nullptr;
}

std::size_t StreamerRegistry::size() const {
  std::size_t n = 0;
  for (const auto& [name, versions] : by_name_) n += versions.size();
  return n;
}

std::vector<const StreamerInfo*> StreamerRegistry::all() const {
  std::vector<const StreamerInfo*> out;
  for (const auto& [name, versions] : by_name_)
    for (const auto& [v, info] : versions) out.push_back(info.get());
  return out;
}

StreamerInfo streamer_info_from_object(const Object& o) {
  StreamerInfo info;
  info.name = o.str("fName");
  info.title = o.str("fTitle");
  info.checksum = static_cast<uint32_t>(o.i64("fCheckSum"));
  info.class_version = static_cast<int>(o.i64("fClassVersion"));
  for (const auto& e : o.list("fElements")) {
    if (!e) continue;
    StreamerElement el;
    el.kind = e->class_name;
    el.name = e->str("fName");
    el.title = e->str("fTitle");
    el.type_name = e->str("fTypeName");
    el.type = static_cast<int>(e->i64("fType"));
    el.size = static_cast<int>(e->i64("fSize"));
    el.array_length = static_cast<int>(e->i64("fArrayLength"));
    el.array_dim = static_cast<int>(e->i64("fArrayDim"));
    auto mi = e->ints("fMaxIndex");
    for (std::size_t i = 0; i < mi.size() && i < 5; ++i) el.max_index[i] = static_cast<int>(mi[i]);
    el.base_version = static_cast<int>(e->i64("fBaseVersion", -1));
    el.count_name = e->str("fCountName");
    el.count_class = e->str("fCountClass");
    el.stl_type = static_cast<int>(e->i64("fSTLtype"));
    el.ctype = static_cast<int>(e->i64("fCtype"));
    // ROOT stores bool members as kUChar with type name Bool_t in old files.
    if (el.type == etype::kUChar && (el.type_name == "Bool_t" || el.type_name == "bool"))
      el.type = etype::kBool;
    int base_type = el.type % 20;
    if (el.type > 0 && el.type < 60 && (base_type == etype::kDouble32 || base_type == etype::kFloat16))
      el.packing = parse_float_packing(el.title, base_type == etype::kFloat16);
    info.elements.push_back(std::move(el));
  }
  return info;
}

}  // namespace m4h::root
