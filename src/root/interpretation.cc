#include "root/interpretation.h"

#include "root/object_layout.h"

#include <algorithm>
#include <climits>
#include <optional>
#include <string>

namespace m4h::root {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Strips "std::" and spaces before '>' so "std::vector<std::vector<float> >" becomes
// "vector<vector<float>>".
std::string normalize_type(std::string s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 5, "std::") == 0) {
      i += 4;
      continue;
    }
    if (s[i] == ' ' && i + 1 < s.size() && s[i + 1] == '>') continue;
    out += s[i];
  }
  out = trim(out);
  for (const char* prefix : {"ROOT::VecOps::RVec<", "ROOT::RVec<"}) {
    std::string p(prefix);
    if (out.starts_with(p)) out = "vector<" + out.substr(p.size());
  }
  return out;
}

struct Primitive {
  DType dtype;
  DType disk;
  bool double32 = false;
  bool float16 = false;
};

std::optional<Primitive> primitive_from_name(const std::string& n) {
  static const std::pair<const char*, DType> table[] = {
      {"bool", DType::kBool},          {"Bool_t", DType::kBool},
      {"char", DType::kInt8},          {"Char_t", DType::kInt8},
      {"signed char", DType::kInt8},   {"int8_t", DType::kInt8},
      {"unsigned char", DType::kUInt8}, {"UChar_t", DType::kUInt8},
      {"uint8_t", DType::kUInt8},      {"Byte_t", DType::kUInt8},
      {"short", DType::kInt16},        {"Short_t", DType::kInt16},
      {"int16_t", DType::kInt16},      {"unsigned short", DType::kUInt16},
      {"UShort_t", DType::kUInt16},    {"uint16_t", DType::kUInt16},
      {"int", DType::kInt32},          {"Int_t", DType::kInt32},
      {"int32_t", DType::kInt32},      {"unsigned int", DType::kUInt32},
      {"unsigned", DType::kUInt32},    {"UInt_t", DType::kUInt32},
      {"uint32_t", DType::kUInt32},    {"long", DType::kInt64},
      {"Long_t", DType::kInt64},       {"long long", DType::kInt64},
      {"Long64_t", DType::kInt64},     {"int64_t", DType::kInt64},
      {"unsigned long", DType::kUInt64}, {"ULong_t", DType::kUInt64},
      {"unsigned long long", DType::kUInt64}, {"ULong64_t", DType::kUInt64},
      {"uint64_t", DType::kUInt64},    {"size_t", DType::kUInt64},
      {"float", DType::kFloat32},      {"Float_t", DType::kFloat32},
      {"double", DType::kFloat64},     {"Double_t", DType::kFloat64},
  };
  for (const auto& [name, t] : table)
    if (n == name) return Primitive{t, t};
  if (n == "Double32_t") return Primitive{DType::kFloat64, DType::kFloat32, true, false};
  if (n == "Float16_t") return Primitive{DType::kFloat32, DType::kFloat32, false, true};
  return std::nullopt;
}

// ROOT's element type codes 1..19 as primitives.
std::optional<Primitive> primitive_from_code(int code) {
  switch (code) {
    case etype::kChar: return Primitive{DType::kInt8, DType::kInt8};
    case etype::kShort: return Primitive{DType::kInt16, DType::kInt16};
    case etype::kInt:
    case etype::kCounter: return Primitive{DType::kInt32, DType::kInt32};
    case etype::kLong:
    case etype::kLong64: return Primitive{DType::kInt64, DType::kInt64};
    case etype::kFloat: return Primitive{DType::kFloat32, DType::kFloat32};
    case etype::kDouble: return Primitive{DType::kFloat64, DType::kFloat64};
    case etype::kDouble32: return Primitive{DType::kFloat64, DType::kFloat32, true, false};
    case etype::kUChar: return Primitive{DType::kUInt8, DType::kUInt8};
    case etype::kUShort: return Primitive{DType::kUInt16, DType::kUInt16};
    case etype::kUInt:
    case etype::kBits: return Primitive{DType::kUInt32, DType::kUInt32};
    case etype::kULong:
    case etype::kULong64: return Primitive{DType::kUInt64, DType::kUInt64};
    case etype::kBool: return Primitive{DType::kBool, DType::kBool};
    case etype::kFloat16: return Primitive{DType::kFloat32, DType::kFloat32, false, true};
    default: return std::nullopt;
  }
}

std::string cpp_scalar_name(const Primitive& p) {
  if (p.double32) return "Double32_t";
  if (p.float16) return "Float16_t";
  return std::string(dtype_cpp_name(p.dtype));
}

void set_primitive(Interpretation& in, const Primitive& p, const FloatPacking& fp) {
  in.dtype = p.dtype;
  in.disk = p.disk;
  in.float_packing = fp;
  if (p.double32 || p.float16) {
    FloatPacking f = fp;
    if (p.float16 && f.factor == 0 && f.nbits == 0) f.nbits = 12;
    in.float_packing = f;
    if (f.factor != 0)
      in.packing = Packing::kFactor;
    else if (f.nbits != 0)
      in.packing = Packing::kNbits;
    else
      in.packing = p.double32 ? Packing::kFloatAsDouble : Packing::kNone;
  }
}

std::string dims_suffix(const std::vector<int>& shape) {
  std::string s;
  for (int d : shape) s.append("[").append(std::to_string(d)).append("]");  // (+ trips g++ 12 -Wrestrict)
  return s;
}

// Why a fixed shape cannot be real, if it cannot: a dimension below 1, or an entry larger than a
// basket can hold (2 GiB). Checked before any size is computed from it.
std::optional<std::string> bad_shape(const std::vector<int>& shape, int64_t value_size) {
  int64_t bytes = value_size;
  for (int d : shape) {
    if (d < 1) return "dimension " + std::to_string(d);
    if (bytes > INT32_MAX / d) return "more than 2 GiB per entry";
    bytes *= d;
  }
  return std::nullopt;
}

Interpretation unsupported(std::string cpp_type, std::string reason) {
  Interpretation in;
  in.layout = Layout::kUnsupported;
  in.cpp_type = std::move(cpp_type);
  in.reason = std::move(reason);
  return in;
}

// Interprets an object stored whole (std::vector<T>, std::string, ...) from its class name.
Interpretation from_class_name(const std::string& raw, const FloatPacking& fp) {
  std::string t = normalize_type(raw);
  Interpretation in;
  in.stl_header = true;
  if (t == "string") {
    in.layout = Layout::kString;
    in.dtype = in.disk = DType::kChar;
    in.stl_header = false;
    in.cpp_type = "std::string";
    return in;
  }
  if (t == "TString") {
    in.layout = Layout::kString;
    in.dtype = in.disk = DType::kChar;
    in.stl_header = false;
    in.cpp_type = "TString";
    return in;
  }
  // Peel sequence containers off the type: vector<set<string>> -> 2 levels of strings.
  static const char* kSequences[] = {"vector", "set", "multiset", "unordered_set", "list", "deque"};
  std::string inner = t;
  std::string cpp_inner;
  int levels = 0;
  std::vector<std::string> heads;
  for (;;) {
    bool peeled = false;
    for (const char* head : kSequences) {
      std::string h = std::string(head) + "<";
      if (inner.starts_with(h) && inner.back() == '>') {
        heads.push_back(head);
        inner = inner.substr(h.size(), inner.size() - h.size() - 1);
        ++levels;
        peeled = true;
        break;
      }
    }
    if (!peeled) break;
  }
  if (levels == 0) return unsupported(raw, "unsupported: " + raw);
  auto wrap = [&](std::string core) {
    for (auto it = heads.rbegin(); it != heads.rend(); ++it) core = "std::" + *it + "<" + core + ">";
    return core;
  };
  in.containers = levels;
  if (auto p = primitive_from_name(inner)) {
    set_primitive(in, *p, fp);
    in.cpp_type = wrap(cpp_scalar_name(*p));
    in.layout = levels == 1 ? Layout::kVector : levels == 2 ? Layout::kVectorVector : Layout::kNested;
    return in;
  }
  if (inner == "string" || inner == "TString") {
    in.dtype = in.disk = DType::kChar;
    in.strings = true;
    in.cpp_type = wrap(inner == "string" ? "std::string" : "TString");
    in.layout = levels == 1 ? Layout::kVectorString : Layout::kNested;
    return in;
  }
  return unsupported(raw, "unsupported: " + raw);
}

Interpretation from_leaf(const Tree& tree, const BranchInfo& b, const LeafInfo& leaf) {
  Interpretation in;
  const std::string& c = leaf.class_name;
  std::optional<Primitive> p;
  if (c == "TLeafO") p = Primitive{DType::kBool, DType::kBool};
  else if (c == "TLeafB") p = leaf.is_unsigned ? Primitive{DType::kUInt8, DType::kUInt8} : Primitive{DType::kInt8, DType::kInt8};
  else if (c == "TLeafS") p = leaf.is_unsigned ? Primitive{DType::kUInt16, DType::kUInt16} : Primitive{DType::kInt16, DType::kInt16};
  else if (c == "TLeafI") p = leaf.is_unsigned ? Primitive{DType::kUInt32, DType::kUInt32} : Primitive{DType::kInt32, DType::kInt32};
  else if (c == "TLeafL" || c == "TLeafG") p = leaf.is_unsigned ? Primitive{DType::kUInt64, DType::kUInt64} : Primitive{DType::kInt64, DType::kInt64};
  else if (c == "TLeafF") p = Primitive{DType::kFloat32, DType::kFloat32};
  else if (c == "TLeafD") p = Primitive{DType::kFloat64, DType::kFloat64};
  else if (c == "TLeafF16") p = Primitive{DType::kFloat32, DType::kFloat32, false, true};
  else if (c == "TLeafD32") p = Primitive{DType::kFloat64, DType::kFloat32, true, false};
  else if (c == "TLeafC") {
    in.layout = Layout::kString;
    in.dtype = in.disk = DType::kChar;
    in.cpp_type = "char*";
    return in;
  } else {
    return unsupported(c, "unsupported: leaf class " + c);
  }
  set_primitive(in, *p, parse_float_packing(leaf.title, p->float16));
  in.shape = leaf.dims;
  if (in.shape.empty() && leaf.count_leaf.empty() && leaf.len > 1) in.shape = {leaf.len};
  if (auto why = bad_shape(in.shape, in.disk_value_size()))
    return unsupported(leaf.title, "unsupported: leaf " + leaf.name + " has a corrupt shape (" + *why + ")");
  if (!leaf.count_leaf.empty()) {
    in.layout = Layout::kCounted;
    in.counter = tree.branch_of_leaf(leaf.count_leaf, &b);
    in.cpp_type = cpp_scalar_name(*p) + "[" + leaf.count_leaf + "]" + dims_suffix(in.shape);
    return in;
  }
  in.layout = Layout::kFlat;
  in.cpp_type = cpp_scalar_name(*p) + dims_suffix(in.shape);
  return in;
}

// A counter branch of a split collection member: the sibling named by fBranchCount.
const BranchInfo* named_branch(const Tree& tree, const BranchInfo& b, const std::string& name) {
  if (name.empty()) return nullptr;
  if (b.parent) {
    if (b.parent->name == name) return b.parent;
    for (const auto& s : b.parent->children)
      if (s->name == name) return s.get();
  }
  return tree.find(name);
}

std::vector<int> element_shape(const StreamerElement& el) {
  std::vector<int> shape;
  for (int i = 0; i < el.array_dim && i < 5; ++i) shape.push_back(el.max_index[i]);
  if (shape.empty() && el.array_length > 1) shape.push_back(el.array_length);
  return shape;
}

Interpretation from_element(const Tree& tree, const BranchInfo& b) {
  const StreamerElement* el = b.element;
  int st = b.streamer_type >= 0 ? b.streamer_type : (el ? el->type : -1);
  FloatPacking fp = el ? el->packing : FloatPacking{};
  bool in_collection = b.element_type == 31 || b.element_type == 41;

  // Counts of a split TClonesArray / STL collection.
  if (b.element_type == 3 || b.element_type == 4) {
    Interpretation in;
    in.layout = Layout::kFlat;
    in.dtype = in.disk = DType::kInt32;
    in.cpp_type = "int32_t";
    return in;
  }
  if (st > 0 && st < 20) {
    auto p = primitive_from_code(st);
    if (!p) return unsupported(el ? el->type_name : "?", "unsupported: streamer type " + std::to_string(st));
    Interpretation in;
    set_primitive(in, *p, fp);
    if (in_collection) {
      in.layout = Layout::kCounted;
      in.counter = named_branch(tree, b, b.count_branch);
      in.cpp_type = cpp_scalar_name(*p) + "[]";
    } else {
      in.layout = Layout::kFlat;
      in.cpp_type = cpp_scalar_name(*p);
    }
    return in;
  }
  if (st > etype::kOffsetL && st < etype::kOffsetL + 20 && el) {
    auto p = primitive_from_code(st - etype::kOffsetL);
    if (!p) return unsupported(el->type_name, "unsupported: streamer type " + std::to_string(st));
    Interpretation in;
    set_primitive(in, *p, fp);
    in.shape = element_shape(*el);
    if (auto why = bad_shape(in.shape, in.disk_value_size()))
      return unsupported(el->type_name, "unsupported: member " + el->name + " has a corrupt shape (" + *why + ")");
    if (in_collection) {
      in.layout = Layout::kCounted;
      in.counter = named_branch(tree, b, b.count_branch);
      in.cpp_type = cpp_scalar_name(*p) + "[]" + dims_suffix(in.shape);
    } else {
      in.layout = Layout::kFlat;
      in.cpp_type = cpp_scalar_name(*p) + dims_suffix(in.shape);
    }
    return in;
  }
  if (st > etype::kOffsetP && st < etype::kOffsetP + 20 && el && !in_collection) {
    auto p = primitive_from_code(st - etype::kOffsetP);
    if (!p) return unsupported(el->type_name, "unsupported: streamer type " + std::to_string(st));
    Interpretation in;
    set_primitive(in, *p, fp);
    in.layout = Layout::kCounted;
    in.header_bytes = 1;  // "is array" flag in front of each entry's values
    std::string count = el->count_name;
    const BranchInfo* counter = nullptr;
    if (!b.leaves.empty() && !b.leaves[0].count_leaf.empty())
      counter = tree.branch_of_leaf(b.leaves[0].count_leaf, &b);
    if (!counter && b.parent)
      for (const auto& s : b.parent->children)
        if (s->name == count || s->name.ends_with("." + count)) counter = s.get();
    in.counter = counter;
    in.cpp_type = cpp_scalar_name(*p) + "[" + count + "]";
    return in;
  }
  if (st == etype::kTString && !in_collection) {
    Interpretation in;
    in.layout = Layout::kString;
    in.dtype = in.disk = DType::kChar;
    in.cpp_type = "TString";
    return in;
  }
  if (in_collection && el &&
      (st == etype::kTString ||
       ((st == etype::kSTL || st == etype::kSTLstring) && normalize_type(el->type_name) == "string"))) {
    Interpretation in;
    in.layout = Layout::kNested;
    in.containers = 1;
    in.strings = true;
    in.until_entry_end = true;
    in.dtype = in.disk = DType::kChar;
    in.cpp_type = (st == etype::kTString ? "TString" : "std::string") + std::string("[]");
    return in;
  }
  if ((st == etype::kSTL || st == etype::kStreamer || st == etype::kSTLstring) && el && !in_collection) {
    Interpretation in = from_class_name(el->type_name, fp);
    if (st == etype::kSTLstring || normalize_type(el->type_name) == "string") in.stl_header = true;
    return in;
  }
  if (b.element_id < 0 || st < 0) {
    // An object stored whole under its class name, or the parent of split members.
    if (!b.children.empty()) {
      Interpretation in;
      in.layout = Layout::kNone;
      in.cpp_type = b.element_class.empty() ? b.clones_name : b.element_class;
      return in;
    }
    Interpretation in = from_class_name(b.element_class, fp);
    return in;
  }
  if (!b.children.empty()) {
    Interpretation in;
    in.layout = Layout::kNone;
    in.cpp_type = el ? el->type_name : b.element_class;
    return in;
  }
  std::string tn = el ? el->type_name : b.element_class;
  return unsupported(tn, "unsupported: " + tn);
}

// An element of a std::pair: a number, a string, or a container of them; and whether its block
// in a member-wise stream has a byte count and version (STL types do, TString and numbers not).
Interpretation pair_element(const StreamerElement& el, bool& block_header) {
  block_header = el.type == etype::kStreamer || el.type == etype::kSTL || el.type == etype::kSTLstring;
  if (el.type > 0 && el.type < 20) return basic_member_interpretation(el);
  return from_class_name(el.type_name, FloatPacking{});
}

// The keys or values of a std::map streamed member-wise: one more container level (the map's
// pairs) around the part's own type.
Interpretation from_map_part(const ObjectMember& m) {
  bool block_header = false, key_header = false;
  const Interpretation part = pair_element(*m.member.element, block_header);
  const Interpretation key = pair_element(*m.first, key_header);
  if (!part.supported() || !key.supported() || (part.layout == Layout::kFlat && !part.shape.empty()))
    return unsupported(m.member.element->type_name, "unsupported: map " + m.member.name + " of type " +
                                                       m.member.element->type_name);
  Interpretation in = part;
  in.layout = Layout::kNested;
  in.containers = part.container_levels() + 1;
  in.strings = part.innermost_strings();
  in.stl_header = true;
  in.map_part = m.member.name == "first" ? 0 : 1;
  in.map_block_header = block_header;
  in.map_key_bytes = key.layout == Layout::kFlat ? key.disk_value_size() : key_header ? 0 : -1;
  in.object_class = m.layout->class_name;
  in.cpp_type = part.cpp_type + "[]";
  return in;
}

Interpretation from_object_member(const ObjectMember& m) {
  if (m.per == ObjectMember::Per::kMapPart) return from_map_part(m);
  Interpretation in = basic_member_interpretation(*m.member.element);
  if (!in.supported()) return in;
  const StreamedLayout& l = *m.layout;
  const bool bare = m.per == ObjectMember::Per::kBare;
  in.layout = Layout::kObjectMember;
  using Per = ObjectMember::Per;
  in.containers = m.per == Per::kEntry || bare ? 0 : m.per == Per::kVectorOfVectors ? 2 : 1;
  in.stl_header = m.per == Per::kVector || m.per == Per::kVectorOfVectors;
  in.object_class = l.class_name;
  in.object_version = l.version;
  in.foreign_size = l.foreign_size;
  in.foreign_offset = m.member.foreign_offset;
  in.object_checksum = l.checksum;
  if (l.memberwise) {
    in.memberwise_size = l.memberwise_size;
    in.memberwise_offset = m.member.memberwise_offset;
  }
  // The members alone are laid out as member-wise ones.
  in.object_header = !bare;
  in.object_size = bare ? l.memberwise_size : l.size;
  in.member_offset = bare ? m.member.memberwise_offset : m.member.offset;
  for (int k = 0; k < in.containers; ++k) in.cpp_type += "[]";
  return in;
}

}  // namespace

Interpretation basic_member_interpretation(const StreamerElement& el) {
  auto p = primitive_from_code(el.type);
  if (!p || el.type <= 0 || el.type >= 20)
    return unsupported(el.type_name, "unsupported: member " + el.name + " of type " + el.type_name);
  Interpretation in;
  set_primitive(in, *p, el.packing);
  in.layout = Layout::kFlat;
  in.cpp_type = cpp_scalar_name(*p);
  return in;
}

std::string normalize_type_name(std::string type) { return normalize_type(std::move(type)); }

int Interpretation::container_levels() const {
  switch (layout) {
    case Layout::kVector:
    case Layout::kVectorString: return 1;
    case Layout::kVectorVector: return 2;
    case Layout::kNested: return containers;
    default: return 0;
  }
}

bool Interpretation::innermost_strings() const {
  return layout == Layout::kString || layout == Layout::kVectorString ||
         (layout == Layout::kNested && strings);
}

int Interpretation::disk_value_size() const {
  switch (packing) {
    case Packing::kFactor: return 4;
    case Packing::kNbits: return 3;
    case Packing::kFloatAsDouble: return 4;
    case Packing::kNone: break;
  }
  return dtype_size(disk);
}

int64_t Interpretation::disk_item_size() const {
  int64_t n = disk_value_size();
  for (int d : shape) n *= d;
  return n;
}

std::string Interpretation::kind_name() const {
  switch (layout) {
    case Layout::kNone: return "container";
    case Layout::kFlat: return shape.empty() ? "flat" : "fixed array";
    case Layout::kCounted:
    case Layout::kVector: return "jagged";
    case Layout::kVectorVector: return "nested jagged";
    case Layout::kString: return "string";
    case Layout::kVectorString: return "jagged string";
    case Layout::kNested:
      if (map_part >= 0 && containers == 1) return strings ? "jagged string" : "jagged";
      return "nested jagged";
    case Layout::kRecord: return "record";
    case Layout::kObjectMember: return containers > 1 ? "nested jagged" : containers ? "jagged" : "flat";
    case Layout::kUnsupported: return "unsupported";
  }
  return "?";
}

Interpretation interpret(const Tree& tree, const BranchInfo& b) {
  if (b.object_member) return from_object_member(*b.object_member);
  if (b.is_element) return from_element(tree, b);
  if (b.leaves.empty()) {
    Interpretation in;
    in.layout = b.children.empty() ? Layout::kUnsupported : Layout::kNone;
    in.reason = "unsupported: branch without leaves";
    return in;
  }
  if (b.leaves.size() > 1) {
    // A leaf list: fixed-size fields stored one after the other in each entry.
    Interpretation rec;
    rec.layout = Layout::kRecord;
    std::string types;
    for (const auto& l : b.leaves) {
      Interpretation f = from_leaf(tree, b, l);
      if (f.layout != Layout::kFlat)
        return unsupported(b.title, "unsupported: leaf list with a " + f.kind_name() + " field " + l.name);
      rec.field_names.push_back(l.name);
      rec.field_offsets.push_back(rec.record_size);
      rec.record_size += f.disk_item_size();
      types += (types.empty() ? "" : "; ") + f.cpp_type + " " + l.name;
      rec.fields.push_back(std::move(f));
    }
    rec.cpp_type = "struct{" + types + ";}";
    return rec;
  }
  if (b.class_name == "TBranchObject")
    return unsupported(b.title, "unsupported: TBranchObject " + b.title);
  return from_leaf(tree, b, b.leaves[0]);
}

}  // namespace m4h::root
