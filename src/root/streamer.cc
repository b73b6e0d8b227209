#include "root/streamer.h"

#include <cctype>
#include <cmath>
#include <numbers>

namespace m4h::root {

namespace {

// ROOT's range bounds: a number, or one of the pi forms it recognises ("pi", "2pi", "2*pi",
// "twopi", "pi/2", "pi/4"), negated when the text holds a '-'.
double parse_range_bound(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.find("pi") == std::string::npos) return std::strtod(t.c_str(), nullptr);
  double v = std::numbers::pi;
  if (t.find("2pi") != std::string::npos || t.find("2*pi") != std::string::npos ||
      t.find("twopi") != std::string::npos)
    v = 2 * std::numbers::pi;
  else if (t.find("pi/2") != std::string::npos)
    v = std::numbers::pi / 2;
  else if (t.find("pi/4") != std::string::npos)
    v = std::numbers::pi / 4;
  return t.find('-') != std::string::npos ? -v : v;
}

}  // namespace

FloatPacking parse_float_packing(const std::string& title, bool is_float16) {
  // Follows TStreamerElement::GetRange: "[xmin, xmax(, nbits)]", nbits 32 when absent or out of
  // [2, 32]; a range gives factor = 2^nbits / (xmax - xmin) (0xffffffff for 32 bits); without a
  // range, fewer than 15 bits means a truncated mantissa. Float16 defaults to 12 bits.
  FloatPacking p;
  const int no_range_bits = is_float16 ? 12 : 0;
  auto open = title.find('[');
  auto close = open == std::string::npos ? std::string::npos : title.find(']', open);
  auto comma = open == std::string::npos ? std::string::npos : title.find(',', open);
  if (open == std::string::npos || close == std::string::npos || comma == std::string::npos ||
      comma > close) {
    p.nbits = no_range_bits;
    return p;
  }
  auto comma2 = title.find(',', comma + 1);
  int nbits = 32;
  std::size_t xmax_end = close;
  if (comma2 != std::string::npos && comma2 < close) {
    nbits = std::atoi(title.substr(comma2 + 1, close - comma2 - 1).c_str());
    if (nbits < 2 || nbits > 32) nbits = 32;
    xmax_end = comma2;
  }
  double xmin = parse_range_bound(title.substr(open + 1, comma - open - 1));
  double xmax = parse_range_bound(title.substr(comma + 1, xmax_end - comma - 1));
  if (xmin < xmax) {
    double bigint = nbits < 32 ? static_cast<double>(1u << nbits) : 4294967295.0;
    p.xmin = xmin;
    p.xmax = xmax;
    p.nbits = nbits;
    p.factor = bigint / (xmax - xmin);
  } else if (nbits < 15) {
    p.nbits = nbits;  // truncated mantissa
  } else {
    p.nbits = no_range_bits;  // Double32: a plain float; Float16: 12-bit mantissa
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
    el.count_version = static_cast<int>(e->i64("fCountVersion"));
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
