#include "root/object_writer.h"

#include "core/error.h"

namespace m4h::root {

namespace {

constexpr uint32_t kDefaultBits = 0x03000000;  // kNotDeleted | kIsOnHeap, as ROOT writes them

std::string strip_pointer(std::string t) {
  while (!t.empty() && (t.back() == '*' || t.back() == ' ')) t.pop_back();
  return t;
}

int64_t as_int(const Value* v) {
  if (!v) return 0;
  if (auto p = std::get_if<int64_t>(v)) return *p;
  if (auto p = std::get_if<double>(v)) return static_cast<int64_t>(*p);
  return 0;
}

double as_double(const Value* v) {
  if (!v) return 0;
  if (auto p = std::get_if<double>(v)) return *p;
  if (auto p = std::get_if<int64_t>(v)) return static_cast<double>(*p);
  return 0;
}

const Object& empty_object() {
  static const Object kEmpty;
  return kEmpty;
}

}  // namespace

void ObjectWriter::write_tobject(const Object& obj) {
  s_.u16(1);  // TObject streams its version without a byte count
  s_.u32(static_cast<uint32_t>(obj.i64("fUniqueID")));
  s_.u32(static_cast<uint32_t>(obj.i64("fBits", kDefaultBits)) & ~(1u << 4));
}

void ObjectWriter::write_object(const std::string& class_name, const Object& obj) {
  if (class_name.starts_with("TArray")) {
    const Value* v = obj.find("fArray");
    std::vector<double> d;
    std::vector<int64_t> i;
    if (v) {
      if (auto p = std::get_if<std::vector<double>>(v)) d = *p;
      if (auto p = std::get_if<std::vector<int64_t>>(v)) i = *p;
    }
    if (class_name == "TArrayD") {
      s_.i32(static_cast<int32_t>(d.size()));
      for (double x : d) s_.f64(x);
    } else if (class_name == "TArrayI") {
      s_.i32(static_cast<int32_t>(i.size()));
      for (int64_t x : i) s_.i32(static_cast<int32_t>(x));
    } else {
      throw Error(ErrorCode::kUnsupported, "writing " + class_name);
    }
    return;
  }
  if (class_name == "TObject") {
    write_tobject(obj);
    return;
  }
  int version = obj.version;
  if (version == 0) {
    if (const StreamerInfo* info = registry_.find(class_name)) version = info->class_version;
  }
  if (class_name == "TObjArray" && version == 0) version = 3;
  if (class_name == "TList" && version == 0) version = 5;
  if (class_name == "TNamed" && version == 0) version = 1;
  // Classes without a ROOT class version (ROOT::TIOFeatures) stream version 0 and a checksum.
  const StreamerInfo* info = registry_.find(class_name);
  bool foreign = class_name == "ROOT::TIOFeatures";
  std::size_t at = s_.begin_object(foreign ? 0 : version);
  if (foreign) s_.u32(info ? info->checksum : 0);
  write_members(class_name, obj);
  s_.end_object(at);
}

void ObjectWriter::write_members(const std::string& name, const Object& obj) {
  if (name == "TNamed") {
    write_tobject(obj);
    s_.tstring(obj.str("fName"));
    s_.tstring(obj.str("fTitle"));
    return;
  }
  if (name == "TObjArray" || name == "TList") {
    write_collection(name, obj);
    return;
  }
  const StreamerInfo* info = registry_.find(name);
  if (!info) throw Error(ErrorCode::kInternal, "no streamer info to write class " + name);
  for (const auto& el : info->elements) write_element(el, obj);
}

void ObjectWriter::write_collection(const std::string& name, const Object& obj) {
  write_tobject(obj);
  s_.tstring(obj.str("fName"));
  s_.i32(static_cast<int32_t>(obj.items.size()));
  if (name == "TObjArray") s_.i32(0);  // lower bound
  for (const auto& item : obj.items) {
    write_object_any(item);
    if (name == "TList") s_.u8(0);  // empty option string
  }
}

void ObjectWriter::write_class_tag(const std::string& class_name) {
  auto it = class_tags_.find(class_name);
  if (it != class_tags_.end()) {
    s_.u32(it->second | kClassMask);
    return;
  }
  uint32_t tag = static_cast<uint32_t>(s_.ref_pos()) + kMapOffset;
  s_.u32(kNewClassTag);
  s_.cstring(class_name);
  class_tags_[class_name] = tag;
}

void ObjectWriter::write_object_any(const ObjectPtr& obj) {
  if (!obj) {
    s_.u32(0);
    return;
  }
  if (auto it = object_refs_.find(obj.get()); it != object_refs_.end()) {
    s_.u32(it->second);
    return;
  }
  std::size_t count_at = s_.size();
  object_refs_[obj.get()] = static_cast<uint32_t>(s_.ref_pos()) + kMapOffset;
  s_.u32(0);
  write_class_tag(obj->class_name);
  write_object(obj->class_name, *obj);
  s_.patch_u32(count_at, static_cast<uint32_t>(s_.size() - count_at - 4) | kByteCountMask);
}

void ObjectWriter::write_basic(int type, const Value* v) {
  switch (type) {
    case etype::kChar:
    case etype::kLegacyChar: s_.put(static_cast<int8_t>(as_int(v))); return;
    case etype::kUChar:
    case etype::kBool: s_.u8(static_cast<uint8_t>(as_int(v))); return;
    case etype::kShort: s_.i16(static_cast<int16_t>(as_int(v))); return;
    case etype::kUShort: s_.u16(static_cast<uint16_t>(as_int(v))); return;
    case etype::kInt:
    case etype::kCounter: s_.i32(static_cast<int32_t>(as_int(v))); return;
    case etype::kUInt:
    case etype::kBits: s_.u32(static_cast<uint32_t>(as_int(v))); return;
    case etype::kLong:
    case etype::kLong64:
    case etype::kULong:
    case etype::kULong64: s_.i64(as_int(v)); return;
    case etype::kFloat: s_.f32(static_cast<float>(as_double(v))); return;
    case etype::kDouble: s_.f64(as_double(v)); return;
    default: throw Error(ErrorCode::kUnsupported, "writing basic type " + std::to_string(type));
  }
}

void ObjectWriter::write_element(const StreamerElement& el, const Object& obj) {
  const int t = el.type;
  if (t == etype::kTObject || (el.kind == "TStreamerBase" && el.name == "TObject")) {
    write_tobject(obj);
    return;
  }
  if (t == etype::kTNamed || el.kind == "TStreamerBase") {
    std::size_t at = s_.begin_object(el.base_version > 0 ? el.base_version : 1);
    write_members(el.name, obj);
    s_.end_object(at);
    return;
  }
  const Value* v = obj.find(el.name);
  if (t > 0 && t < 20) {
    write_basic(t, v);
    return;
  }
  auto write_array = [&](int type, int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
      Value item;
      if (v) {
        if (auto p = std::get_if<std::vector<int64_t>>(v); p && k < static_cast<int64_t>(p->size()))
          item = (*p)[k];
        if (auto p = std::get_if<std::vector<double>>(v); p && k < static_cast<int64_t>(p->size()))
          item = (*p)[k];
      }
      write_basic(type, &item);
    }
  };
  if (t > etype::kOffsetL && t < etype::kOffsetL + 20) {
    write_array(t - etype::kOffsetL, el.array_length);
    return;
  }
  if (t > etype::kOffsetP && t < etype::kOffsetP + 20) {
    int64_t n = obj.i64(el.count_name);
    s_.u8(n > 0 ? 1 : 0);
    if (n > 0) write_array(t - etype::kOffsetP, n);
    return;
  }
  switch (t) {
    case etype::kTString:
      s_.tstring(v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "");
      return;
    case etype::kObject:
    case etype::kAny:
    case etype::kObjectp:
    case etype::kAnyp: {
      ObjectPtr member = obj.obj(el.name);
      write_object(strip_pointer(el.type_name), member ? *member : empty_object());
      return;
    }
    case etype::kObjectP:
    case etype::kAnyP:
      write_object_any(obj.obj(el.name));
      return;
    default:
      throw Error(ErrorCode::kUnsupported, "writing member " + el.name + " of streamer type " + std::to_string(t));
  }
}

void ObjectWriter::write_named(const std::string& name, const std::string& title) {
  std::size_t at = s_.begin_object(1);
  write_tobject(empty_object());
  s_.tstring(name);
  s_.tstring(title);
  s_.end_object(at);
}

void ObjectWriter::write_streamer_element(const StreamerElement& el) {
  int kind_version = 2;
  if (el.kind == "TStreamerBase" || el.kind == "TStreamerSTL") kind_version = 3;
  std::size_t outer = s_.begin_object(kind_version);
  std::size_t elem = s_.begin_object(4);  // TStreamerElement
  write_named(el.name, el.title);
  s_.i32(el.type);
  s_.i32(el.size);
  s_.i32(el.array_length);
  s_.i32(el.array_dim);
  for (int i = 0; i < 5; ++i) s_.i32(el.max_index[i]);
  s_.tstring(el.type_name);
  s_.end_object(elem);
  if (el.kind == "TStreamerBase") {
    s_.i32(el.base_version);
  } else if (el.kind == "TStreamerBasicPointer" || el.kind == "TStreamerLoop") {
    s_.i32(el.count_version);
    s_.tstring(el.count_name);
    s_.tstring(el.count_class);
  } else if (el.kind == "TStreamerSTL") {
    s_.i32(el.stl_type);
    s_.i32(el.ctype);
  }
  s_.end_object(outer);
}

void ObjectWriter::write_streamer_info(const StreamerInfo& info) {
  std::size_t count_at = s_.size();
  s_.u32(0);
  write_class_tag("TStreamerInfo");
  std::size_t at = s_.begin_object(9);
  write_named(info.name, info.title);
  s_.u32(info.checksum);
  s_.i32(info.class_version);
  // fElements: a TObjArray of elements
  std::size_t arr_count = s_.size();
  s_.u32(0);
  write_class_tag("TObjArray");
  std::size_t arr = s_.begin_object(3);
  s_.u16(1);
  s_.u32(0);
  s_.u32(kDefaultBits);
  s_.tstring("");
  s_.i32(static_cast<int32_t>(info.elements.size()));
  s_.i32(0);
  for (const auto& el : info.elements) {
    std::size_t el_count = s_.size();
    s_.u32(0);
    write_class_tag(el.kind);
    write_streamer_element(el);
    s_.patch_u32(el_count, static_cast<uint32_t>(s_.size() - el_count - 4) | kByteCountMask);
  }
  s_.end_object(arr);
  s_.patch_u32(arr_count, static_cast<uint32_t>(s_.size() - arr_count - 4) | kByteCountMask);
  s_.end_object(at);
  s_.patch_u32(count_at, static_cast<uint32_t>(s_.size() - count_at - 4) | kByteCountMask);
}

}  // namespace m4h::root
