#include "root/object_layout.h"

#include <memory>

#include "root/interpretation.h"

namespace m4h::root {

namespace {

// Deeper nesting of embedded objects than any real class has: a corrupt streamer record that
// makes a class contain itself stops here.
constexpr int kMaxDepth = 16;
// Elements visited per layout, at most: a corrupt record whose class embeds itself several times
// would otherwise grow exponentially with the depth.
constexpr int kMaxElements = 4096;
// TObject streamed as a base: version (2 bytes), fUniqueID and fBits (4 each). (A referenced
// object carries 2 more bytes; its byte count then no longer matches and reading it fails.)
constexpr int64_t kTObjectBytes = 10;
constexpr int64_t kHeaderBytes = 6;  // byte count (4) + version (2)

// The streamer info of `name` as normalize_type_name spells it or as ROOT does ("> >").
const StreamerInfo* find_info(const StreamerRegistry& reg, const std::string& name, int version) {
  if (const StreamerInfo* info = reg.find(name, version)) return info;
  std::string spaced;
  for (char c : name) {
    if (c == '>' && !spaced.empty() && spaced.back() == '>') spaced += ' ';
    spaced += c;
  }
  return spaced == name ? nullptr : reg.find(spaced, version);
}

struct Walk {
  const StreamerRegistry& reg;
  StreamedLayout& layout;
  int budget = kMaxElements;
};

// Where a part of an object starts: as ROOT writes it with plain headers, and with the headers
// of version-0/1 classes carrying a checksum (StreamedLayout::foreign_size).
struct At {
  int64_t plain = 0, foreign = 0;
};

// The header of an object or base of a class of version `version`, foreign-written or not.
int64_t foreign_header(int version) { return version <= 1 ? kHeaderBytes + 4 : kHeaderBytes; }

// Appends the members of the body of `info`'s class (what follows its header) at `at` into the
// object; returns the body's sizes, or nullopt when they are not fixed. Also keeps the
// member-wise layout (members alone, bases flattened) while it applies.
std::optional<At> body(Walk& w, const StreamerInfo& info, At at, const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  StreamedLayout& l = w.layout;
  At size;
  // A base or an embedded object: its own header, then its body.
  auto nested = [&](const std::string& name, int v, const std::string& inner_prefix) {
    const StreamerInfo* nested_info = find_info(w.reg, name, v);
    if (!nested_info) return false;
    const int64_t fh = foreign_header(nested_info->class_version);
    auto inner = body(w, *nested_info, {at.plain + size.plain + kHeaderBytes, at.foreign + size.foreign + fh},
                      inner_prefix, depth + 1);
    if (!inner) return false;
    size.plain += kHeaderBytes + inner->plain;
    size.foreign += fh + inner->foreign;
    return true;
  };
  for (const StreamerElement& el : info.elements) {
    if (--w.budget < 0) return std::nullopt;
    if (el.kind == "TStreamerBase") {
      l.bases = true;
      if (el.name == "TObject") {  // bookkeeping (fUniqueID, fBits), not data: no members
        size.plain += kTObjectBytes;
        size.foreign += kTObjectBytes;  // (TObject has a ClassDef: never foreign-written)
        l.memberwise = false;
        continue;
      }
      if (!nested(el.name, el.base_version, prefix)) return std::nullopt;
    } else if (el.type > 0 && el.type < 20 && el.array_length <= 1 && el.array_dim == 0) {
      const Interpretation in = basic_member_interpretation(el);
      if (!in.supported()) return std::nullopt;
      l.members.push_back({prefix + el.name, at.plain + size.plain, l.memberwise_size, at.foreign + size.foreign, &el});
      size.plain += in.disk_value_size();
      size.foreign += in.disk_value_size();
      l.memberwise_size += in.disk_value_size();
    } else if ((el.type == etype::kObject || el.type == etype::kAny) && el.array_length <= 1) {
      l.memberwise = false;  // (embedded objects are streamed object-wise inside member-wise runs)
      if (!nested(el.type_name, -1, prefix + el.name + ".")) return std::nullopt;
    } else {
      return std::nullopt;  // strings, pointers, containers, arrays: sizes vary per object
    }
  }
  return size;
}

// The class of the items of a std::vector or std::map, else "": "std::vector<TLorentzVector >" ->
// "TLorentzVector", "map<int,short>" -> "pair<int,short>" (as the file's streamer infos name it).
std::string collection_item(const std::string& type) {
  const std::string t = normalize_type_name(type);
  if (!t.ends_with(">")) return "";
  if (t.starts_with("vector<")) return t.substr(7, t.size() - 8);
  if (t.starts_with("map<")) return "pair<" + t.substr(4, t.size() - 5) + ">";
  return "";
}

struct StoredObjects {
  std::string class_name;
  ObjectMember::Per per;
  int version = -1;  // the class version recorded with the branch, or -1: the file's highest
};

// The objects of a std::vector (or std::map) type, or of a std::vector of std::vectors of them.
std::optional<StoredObjects> collection_objects(const std::string& type) {
  std::string item = collection_item(type);
  if (item.empty()) return std::nullopt;
  if (!item.starts_with("vector<")) return StoredObjects{item, ObjectMember::Per::kVector};
  item = collection_item(item);
  if (item.empty() || item.starts_with("vector<") || item.starts_with("pair<")) return std::nullopt;
  return StoredObjects{item, ObjectMember::Per::kVectorOfVectors};
}

// The class of the objects `b` holds whole, and how they are laid out in an entry; nullopt when
// `b` holds something else (values, containers of values, split parents).
std::optional<StoredObjects> stored_objects(const BranchInfo& b) {
  using Per = ObjectMember::Per;
  if (!b.is_element || !b.children.empty() || b.leaves.size() != 1) return std::nullopt;
  const bool in_collection = b.element_type == 31 || b.element_type == 41;
  const int st = b.streamer_type >= 0 ? b.streamer_type : (b.element ? b.element->type : -1);
  if (b.element_id < 0) {  // the branch's own object, stored whole
    if (in_collection || b.element_class.empty()) return std::nullopt;
    // A std::vector or std::map of objects (pairs), streamed object after object or member-wise,
    // or a std::vector of std::vectors of objects.
    if (auto objects = collection_objects(b.element_class)) return objects;
    // fType -1: the object with its byte count and version. fType 0 without sub-branches: its
    // members alone, as an xAOD::BunchConfKey_v1 branch holds them.
    if (b.element_type != -1 && b.element_type != 0) return std::nullopt;
    return StoredObjects{normalize_type_name(b.element_class), b.element_type == 0 ? Per::kBare : Per::kEntry,
                         b.class_version};
  }
  if (!b.element || st < 0) return std::nullopt;
  if (st == etype::kObject || st == etype::kAny)  // an unsplit object member, with its header
    return StoredObjects{normalize_type_name(b.element->type_name), in_collection ? Per::kRun : Per::kEntry};
  if (st == etype::kSTL && !in_collection)  // a std::vector or std::map member of objects
    if (auto objects = collection_objects(b.element->type_name)) return objects;
  return std::nullopt;
}

// A child branch of `b` named `b.name + "." + member`, reading b's baskets as `m` says.
void add_child(BranchInfo& b, const std::string& member, std::shared_ptr<ObjectMember> m) {
  auto c = std::make_unique<BranchInfo>();
  c->name = b.name + "." + member;
  c->title = c->name;
  c->class_name = b.class_name;
  c->path = b.path + "/" + c->name;
  c->parent = &b;
  c->entries = b.entries;
  c->entry_offset_len = b.entry_offset_len;
  c->baskets = b.baskets;  // the parent's: its stored bytes are counted once, on the parent
  c->object_member = std::move(m);
  b.children.push_back(std::move(c));
}

// A std::map whose keys or values vary in size (map<string,short>, map<int,vector<string>>):
// its keys and its values become two branches, each read from the member-wise stream.
void add_map_parts(BranchInfo& b, const StreamerRegistry& reg, const std::string& pair) {
  const StreamerInfo* info = find_info(reg, pair, -1);
  if (!info || info->elements.size() != 2 || info->elements[0].name != "first" || info->elements[1].name != "second")
    return;
  auto layout = std::make_shared<StreamedLayout>();
  layout->class_name = pair;
  layout->version = info->class_version;
  layout->checksum = info->checksum;
  for (const StreamerElement& el : info->elements) {
    auto m = std::make_shared<ObjectMember>();
    m->per = ObjectMember::Per::kMapPart;
    m->layout = layout;
    m->member.name = el.name;
    m->member.element = &el;
    m->first = &info->elements[0];
    add_child(b, el.name, std::move(m));
  }
}

void add_members(BranchInfo& b, const StreamerRegistry& reg) {
  for (auto& child : b.children) add_members(*child, reg);
  const auto objects = stored_objects(b);
  if (!objects) return;
  auto found = fixed_stream_layout(reg, objects->class_name, objects->version);
  if (!found && objects->per == ObjectMember::Per::kVector && objects->class_name.starts_with("pair<") &&
      b.children.empty())
    return add_map_parts(b, reg, objects->class_name);
  if (!found || found->members.empty()) return;
  // Members alone are laid out as member-wise ones are; bases would bring headers of their own.
  if (objects->per == ObjectMember::Per::kBare && (!found->memberwise || found->bases)) return;
  const auto layout = std::make_shared<const StreamedLayout>(std::move(*found));
  for (const StreamedMember& m : layout->members) {
    auto member = std::make_shared<ObjectMember>();
    member->per = objects->per;
    member->layout = layout;
    member->member = m;
    add_child(b, m.name, std::move(member));
  }
}

}  // namespace

std::optional<StreamedLayout> fixed_stream_layout(const StreamerRegistry& reg, const std::string& class_name,
                                                  int version) {
  const StreamerInfo* info = find_info(reg, class_name, version);
  if (!info) return std::nullopt;
  StreamedLayout layout;
  layout.class_name = class_name;
  layout.version = info->class_version;
  layout.checksum = info->checksum;
  Walk w{reg, layout};
  const int64_t fh = foreign_header(info->class_version);
  auto size = body(w, *info, {kHeaderBytes, fh}, "", 0);
  if (!size) return std::nullopt;
  layout.size = kHeaderBytes + size->plain;
  if (fh != kHeaderBytes) layout.foreign_size = fh + size->foreign;
  return layout;
}

void add_object_members(std::vector<std::unique_ptr<BranchInfo>>& branches, const StreamerRegistry& reg) {
  for (auto& b : branches) add_members(*b, reg);
}

}  // namespace m4h::root
