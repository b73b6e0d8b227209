#include "root/object_reader.h"

#include "root/float_packing.h"

namespace m4h::root {

namespace {

constexpr uint32_t kIsReferenced = 1u << 4;
constexpr int kMaxDepth = 64;

bool is_streamer_element_class(const std::string& n) {
  return n.starts_with("TStreamer") && n != "TStreamerInfo";
}

std::string strip_pointer(std::string t) {
  while (!t.empty() && (t.back() == '*' || t.back() == ' ')) t.pop_back();
  return t;
}

struct DepthGuard {
  explicit DepthGuard(int& d, Cursor& c) : d_(d) {
    if (++d_ > kMaxDepth) {
      --d_;
      c.fail("objects nested too deeply");
    }
  }
  ~DepthGuard() { --d_; }
  int& d_;
};

}  // namespace

ObjectPtr ObjectReader::read_object(const std::string& class_name) {
  DepthGuard guard(depth_, c_);
  if (class_name.starts_with("TArray")) return read_tarray(class_name);
  auto obj = std::make_shared<Object>();
  obj->class_name = class_name;
  if (class_name == "TBasket") {  // streams its key first, no version header of its own
    read_basket(*obj);
    return obj;
  }
  ObjectHeader h = read_object_header(c_);
  obj->version = h.version;
  read_members(class_name, *obj, h);
  skip_to_end(c_, h);
  return obj;
}

ObjectPtr ObjectReader::read_object_any() {
  DepthGuard guard(depth_, c_);
  const std::size_t beg = c_.pos();
  const int64_t beg_ref = c_.ref_pos();
  uint32_t bcnt = c_.u32();
  uint32_t tag;
  int64_t start_ref = 0;
  bool counted = (bcnt & kByteCountMask) && bcnt != kNewClassTag;
  if (!counted) {
    tag = bcnt;
    bcnt = 0;
  } else {
    bcnt &= ~kByteCountMask;
    start_ref = c_.ref_pos();
    tag = c_.u32();
  }
  const std::size_t end = counted ? beg + 4 + bcnt : 0;
  if (counted && end > c_.size()) c_.fail("object byte count overruns record");

  if (!(tag & kClassMask)) {  // a reference to an object already read, or null
    if (tag == 0) return nullptr;
    auto it = object_refs_.find(tag);
    if (counted) c_.seek(end);
    return it == object_refs_.end() ? nullptr : it->second;
  }

  std::string class_name;
  if (tag == kNewClassTag) {
    class_name = c_.cstring();
    if (counted)
      class_tags_[start_ref + kMapOffset] = class_name;
    else
      class_tags_[static_cast<int64_t>(class_tags_.size()) + 1] = class_name;
  } else {
    int64_t ref = tag & ~kClassMask;
    auto it = class_tags_.find(ref);
    if (it == class_tags_.end()) c_.fail("reference to unknown class tag " + std::to_string(ref));
    class_name = it->second;
  }
  ObjectPtr obj = read_object(class_name);
  if (counted) {
    object_refs_[beg_ref + kMapOffset] = obj;
    c_.seek(end);
  } else {
    object_refs_[static_cast<int64_t>(object_refs_.size()) + 1] = obj;
  }
  return obj;
}

void ObjectReader::read_tobject(Object& into) {
  // TObject may or may not be preceded by a byte count.
  ObjectHeader h = read_object_header(c_);
  (void)h;
  into.set("fUniqueID", static_cast<int64_t>(c_.u32()));
  uint32_t bits = c_.u32();
  into.set("fBits", static_cast<int64_t>(bits));
  if (bits & kIsReferenced) c_.skip(2);  // process id of a referenced object
}

void ObjectReader::read_tnamed(Object& into) {
  read_tobject(into);
  into.set("fName", c_.tstring());
  into.set("fTitle", c_.tstring());
}

void ObjectReader::read_members(const std::string& name, Object& into, const ObjectHeader& h) {
  if (name == "TObject") {
    into.set("fUniqueID", static_cast<int64_t>(c_.u32()));
    uint32_t bits = c_.u32();
    into.set("fBits", static_cast<int64_t>(bits));
    if (bits & kIsReferenced) c_.skip(2);
    return;
  }
  if (name == "TNamed") {
    read_tobject(into);
    into.set("fName", c_.tstring());
    into.set("fTitle", c_.tstring());
    return;
  }
  if (name == "TObjString") {
    read_tobject(into);
    into.set("fString", c_.tstring());
    return;
  }
  if (name == "TObjArray" || name == "TList" || name == "THashList" || name == "TClonesArray" ||
      name == "TRefArray" || name == "TOrdCollection") {
    read_collection(name, into, h);
    return;
  }
  if (name == "TStreamerInfo") {
    read_streamer_info(into, h);
    return;
  }
  if (is_streamer_element_class(name)) {
    read_streamer_element(name, into, h);
    return;
  }
  if (name == "TString") {
    into.set("fString", c_.tstring());
    return;
  }
  const StreamerInfo* info = nullptr;
  if (registry_) {
    info = h.version == 0 && h.checksum ? registry_->find_by_checksum(name, h.checksum) : nullptr;
    if (!info) info = registry_->find(name, h.version);
  }
  if (!info) {
    if (h.has_byte_count) return;  // unknown class: skipped by the caller via its byte count
    throw Error(ErrorCode::kUnsupported, "no streamer info for class " + name);
  }
  read_by_streamer(*info, into, h);
}

void ObjectReader::read_collection(const std::string& name, Object& into, const ObjectHeader& h) {
  int v = h.version;
  if (name == "TObjArray" || name == "TRefArray") {
    if (v > 2) read_tobject(into);
    if (v > 1) into.set("fName", c_.tstring());
    int32_t n = c_.i32();
    into.set("fLowerBound", static_cast<int64_t>(c_.i32()));
    if (n < 0 || static_cast<std::size_t>(n) > c_.remaining()) c_.fail("bad collection size " + std::to_string(n));
    if (name == "TRefArray") return;  // references only; nothing we use
    into.items.reserve(n);
    for (int32_t i = 0; i < n; ++i) into.items.push_back(read_object_any());
    return;
  }
  if (name == "TClonesArray") {
    if (v > 2) read_tobject(into);
    if (v > 1) into.set("fName", c_.tstring());
    into.set("fClass", c_.tstring());
    // The elements are member-wise streamed objects; metadata never needs them.
    return;
  }
  // TList, THashList, TOrdCollection
  if (v > 3) {
    read_tobject(into);
    into.set("fName", c_.tstring());
  }
  int32_t n = c_.i32();
  if (n < 0 || static_cast<std::size_t>(n) > c_.remaining()) c_.fail("bad list size " + std::to_string(n));
  for (int32_t i = 0; i < n; ++i) {
    into.items.push_back(read_object_any());
    if (name != "TOrdCollection" && v > 3) {
      std::size_t nch = c_.u8();
      if (nch == 255) nch = c_.u32();
      c_.skip(nch);  // per-item option string
    }
  }
}

void ObjectReader::read_streamer_info(Object& into, const ObjectHeader& h) {
  // TNamed base with its own header
  ObjectHeader nh = read_object_header(c_);
  read_members("TNamed", into, nh);
  skip_to_end(c_, nh);
  into.set("fCheckSum", static_cast<int64_t>(c_.u32()));
  into.set("fClassVersion", static_cast<int64_t>(c_.i32()));
  into.set("fElements", read_object_any());
}

void ObjectReader::read_streamer_element(const std::string& name, Object& into,
                                         const ObjectHeader& h) {
  if (name == "TStreamerSTLstring") {  // derives from TStreamerSTL: one more level of header
    ObjectHeader sh = read_object_header(c_);
    read_streamer_element("TStreamerSTL", into, sh);
    skip_to_end(c_, sh);
    return;
  }
  // Every subclass begins with a TStreamerElement base carrying its own header.
  ObjectHeader eh = read_object_header(c_);
  {
    ObjectHeader nh = read_object_header(c_);
    read_members("TNamed", into, nh);
    skip_to_end(c_, nh);
  }
  into.set("fType", static_cast<int64_t>(c_.i32()));
  into.set("fSize", static_cast<int64_t>(c_.i32()));
  into.set("fArrayLength", static_cast<int64_t>(c_.i32()));
  into.set("fArrayDim", static_cast<int64_t>(c_.i32()));
  int32_t nmax = 5;
  if (eh.version == 1) nmax = c_.i32();
  if (nmax < 0 || nmax > 64) c_.fail("bad fMaxIndex length");
  std::vector<int64_t> maxi;
  for (int i = 0; i < nmax; ++i) maxi.push_back(c_.i32());
  into.set("fMaxIndex", std::move(maxi));
  into.set("fTypeName", c_.tstring());
  skip_to_end(c_, eh);

  if (name == "TStreamerBase") {
    if (h.version >= 2) into.set("fBaseVersion", static_cast<int64_t>(c_.i32()));
  } else if (name == "TStreamerBasicPointer" || name == "TStreamerLoop") {
    into.set("fCountVersion", static_cast<int64_t>(c_.i32()));
    into.set("fCountName", c_.tstring());
    into.set("fCountClass", c_.tstring());
  } else if (name == "TStreamerSTL") {
    into.set("fSTLtype", static_cast<int64_t>(c_.i32()));
    into.set("fCtype", static_cast<int64_t>(c_.i32()));
  }
}

void ObjectReader::read_basket(Object& into) {
  const std::size_t start = c_.pos();
  into.set("fNbytes", static_cast<int64_t>(c_.i32()));
  int key_version = c_.i16();
  into.set("fObjlen", static_cast<int64_t>(c_.i32()));
  c_.u32();  // datime
  int keylen = c_.i16();
  into.set("fKeylen", static_cast<int64_t>(keylen));
  c_.i16();  // cycle
  (void)key_version;
  // The basket's own header is the last 19 bytes of the key part.
  if (keylen < 19) c_.fail("embedded basket key length too small");
  c_.seek(start + static_cast<std::size_t>(keylen) - 19);
  into.version = c_.u16();
  into.set("fBufferSize", static_cast<int64_t>(c_.i32()));
  int64_t nev_buf_size = c_.i32();
  int64_t nev_buf = c_.i32();
  int64_t last = c_.i32();
  int flag = c_.u8();
  into.set("fNevBufSize", nev_buf_size);
  into.set("fNevBuf", nev_buf);
  into.set("fLast", last);
  into.set("flag", static_cast<int64_t>(flag));
  if (flag == 0) return;
  if (flag % 10 != 2 && nev_buf > 0) {
    int32_t n = c_.i32();
    if (n < 0 || static_cast<std::size_t>(n) * 4 > c_.remaining()) c_.fail("bad entry offset count");
    std::vector<int64_t> offsets(n);
    for (auto& o : offsets) o = c_.i32();
    into.set("fEntryOffset", std::move(offsets));
    if (flag > 40) {
      int32_t nd = c_.i32();
      if (nd < 0 || static_cast<std::size_t>(nd) * 4 > c_.remaining()) c_.fail("bad displacement count");
      c_.skip(static_cast<std::size_t>(nd) * 4);
    }
  }
  if (flag == 1 || flag > 10) {
    if (last < keylen) c_.fail("embedded basket fLast smaller than its key");
    auto buf = c_.bytes(static_cast<std::size_t>(last));
    into.payload.assign(buf.begin() + keylen, buf.end());
  }
}

void ObjectReader::read_by_streamer(const StreamerInfo& info, Object& into, const ObjectHeader& h) {
  for (const auto& el : info.elements) {
    try {
      read_element(el, into);
    } catch (Error& e) {
      // A member we cannot read: the byte count still tells where the object ends.
      if (!h.has_byte_count || e.code() != ErrorCode::kUnsupported) throw;
      c_.seek(h.end);
      return;
    }
  }
}

void ObjectReader::read_element(const StreamerElement& el, Object& into) {
  const int t = el.type;
  if (el.kind == "TStreamerBase" || t == etype::kBase) {
    ObjectHeader bh = read_object_header(c_);
    read_members(el.name, into, bh);
    skip_to_end(c_, bh);
    return;
  }
  if (el.kind == "TStreamerArtificial")
    throw Error(ErrorCode::kUnsupported, "artificial streamer element " + el.name);
  if (t > 0 && t < 20) {
    into.set(el.name, read_basic(t, &el));
    return;
  }
  if (t > etype::kOffsetL && t < etype::kOffsetL + 20) {
    into.set(el.name, read_basic_array(t - etype::kOffsetL, el.array_length, &el));
    return;
  }
  if (t > etype::kOffsetP && t < etype::kOffsetP + 20) {
    uint8_t is_array = c_.u8();
    int64_t n = into.i64(el.count_name);
    if (is_array && n > 0)
      into.set(el.name, read_basic_array(t - etype::kOffsetP, n, &el));
    else
      into.set(el.name, std::vector<int64_t>{});
    return;
  }
  switch (t) {
    case etype::kTString:
      into.set(el.name, c_.tstring());
      return;
    case etype::kTObject: {
      ObjectHeader bh = read_object_header(c_);
      read_members("TObject", into, bh);
      return;
    }
    case etype::kTNamed: {
      ObjectHeader bh = read_object_header(c_);
      read_members("TNamed", into, bh);
      skip_to_end(c_, bh);
      return;
    }
    case etype::kObject:
    case etype::kAny:
    case etype::kObjectp:
    case etype::kAnyp:
      into.set(el.name, read_object(strip_pointer(el.type_name)));
      return;
    case etype::kObjectP:
    case etype::kAnyP:
    case etype::kAnyPnoVT:
      into.set(el.name, read_object_any());
      return;
    case etype::kSTL:
    case etype::kSTLp:
    case etype::kSTLstring:
      into.set(el.name, read_stl(el));
      return;
    case etype::kStreamer:
    case etype::kStreamLoop: {
      ObjectHeader bh = read_object_header(c_);
      if (!bh.has_byte_count) throw Error(ErrorCode::kUnsupported, "custom streamer " + el.name);
      skip_to_end(c_, bh);
      return;
    }
    default:
      throw Error(ErrorCode::kUnsupported,
                  "member " + el.name + " of streamer type " + std::to_string(t));
  }
}

Value ObjectReader::read_basic(int type, const StreamerElement* el) {
  switch (type) {
    case etype::kChar:
    case etype::kLegacyChar: return static_cast<int64_t>(c_.read<int8_t>());
    case etype::kShort: return static_cast<int64_t>(c_.i16());
    case etype::kInt:
    case etype::kCounter: return static_cast<int64_t>(c_.i32());
    case etype::kLong:
    case etype::kLong64:
    case etype::kULong:
    case etype::kULong64: return c_.i64();
    case etype::kFloat: return static_cast<double>(c_.f32());
    case etype::kDouble: return c_.f64();
    case etype::kUChar:
    case etype::kBool: return static_cast<int64_t>(c_.u8());
    case etype::kUShort: return static_cast<int64_t>(c_.u16());
    case etype::kUInt:
    case etype::kBits: return static_cast<int64_t>(c_.u32());
    case etype::kCharStar: {
      int32_t n = c_.i32();
      if (n < 0) c_.fail("negative char* length");
      auto b = c_.bytes(static_cast<std::size_t>(n));
      return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }
    case etype::kDouble32:
    case etype::kFloat16: {
      FloatPacking p = el ? el->packing : FloatPacking{};
      if (type == etype::kFloat16 && p.factor == 0 && p.nbits == 0) p.nbits = 12;
      if (p.factor != 0) return unpack_with_factor(c_.u32(), p);
      if (p.nbits != 0) {
        uint8_t e = c_.u8();
        uint16_t m = c_.u16();
        return static_cast<double>(unpack_with_nbits(e, m, p.nbits));
      }
      return static_cast<double>(c_.f32());
    }
    default:
      throw Error(ErrorCode::kUnsupported, "basic type code " + std::to_string(type));
  }
}

Value ObjectReader::read_basic_array(int type, int64_t n, const StreamerElement* el) {
  if (n < 0 || static_cast<uint64_t>(n) > c_.remaining()) c_.fail("bad array length " + std::to_string(n));
  bool floating = type == etype::kFloat || type == etype::kDouble || type == etype::kDouble32 ||
                  type == etype::kFloat16;
  if (floating) {
    std::vector<double> out;
    out.reserve(n);
    for (int64_t i = 0; i < n; ++i) out.push_back(std::get<double>(read_basic(type, el)));
    return out;
  }
  std::vector<int64_t> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    Value v = read_basic(type, el);
    out.push_back(std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : 0);
  }
  return out;
}

ObjectPtr ObjectReader::read_tarray(const std::string& name) {
  auto obj = std::make_shared<Object>();
  obj->class_name = name;
  int32_t n = c_.i32();
  if (n < 0) c_.fail("negative " + name + " length");
  int type = 0;
  if (name == "TArrayC") type = etype::kChar;
  else if (name == "TArrayS") type = etype::kShort;
  else if (name == "TArrayI") type = etype::kInt;
  else if (name == "TArrayL" || name == "TArrayL64") type = etype::kLong64;
  else if (name == "TArrayF") type = etype::kFloat;
  else if (name == "TArrayD") type = etype::kDouble;
  else throw Error(ErrorCode::kUnsupported, "array class " + name);
  obj->set("fArray", read_basic_array(type, n, nullptr));
  return obj;
}

Value ObjectReader::read_stl(const StreamerElement& el) {
  ObjectHeader h = read_object_header(c_);
  Value out;
  if (el.type == etype::kSTLstring || el.type_name == "string" || el.type_name == "std::string") {
    // A string member is streamed without header in most versions; rewind if there was none.
    if (!h.has_byte_count) c_.seek(h.start);
    out = c_.tstring();
  } else if (el.stl_type == 1 && el.ctype > 0 && el.ctype < 20) {
    int32_t n = c_.i32();
    out = read_basic_array(el.ctype, n, nullptr);
  } else if (!h.has_byte_count) {
    throw Error(ErrorCode::kUnsupported, "STL member " + el.name + " of type " + el.type_name);
  }
  skip_to_end(c_, h);
  return out;
}

}  // namespace m4h::root
