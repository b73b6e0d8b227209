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

// Appends the members of `class_name`'s body (what follows its header) at `offset` bytes into the
// object; returns the body's size, or nullopt when it is not fixed. Also keeps the member-wise
// layout (members alone, bases flattened) while it applies.
std::optional<int64_t> body(Walk& w, const std::string& class_name, int version, int64_t offset,
                            const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  const StreamerInfo* info = find_info(w.reg, class_name, version);
  if (!info) return std::nullopt;
  StreamedLayout& l = w.layout;
  int64_t size = 0;
  for (const StreamerElement& el : info->elements) {
    if (--w.budget < 0) return std::nullopt;
    if (el.kind == "TStreamerBase") {
      l.bases = true;
      if (el.name == "TObject") {  // bookkeeping (fUniqueID, fBits), not data: no members
        size += kTObjectBytes;
        l.memberwise = false;
        continue;
      }
      auto base = body(w, el.name, el.base_version, offset + size + kHeaderBytes, prefix, depth + 1);
      if (!base) return std::nullopt;
      size += kHeaderBytes + *base;
    } else if (el.type > 0 && el.type < 20 && el.array_length <= 1 && el.array_dim == 0) {
      const Interpretation in = basic_member_interpretation(el);
      if (!in.supported()) return std::nullopt;
      l.members.push_back({prefix + el.name, offset + size, l.memberwise_size, &el});
      size += in.disk_value_size();
      l.memberwise_size += in.disk_value_size();
    } else if ((el.type == etype::kObject || el.type == etype::kAny) && el.array_length <= 1) {
      l.memberwise = false;  // (embedded objects are streamed object-wise inside member-wise runs)
      auto inner = body(w, el.type_name, -1, offset + size + kHeaderBytes, prefix + el.name + ".", depth + 1);
      if (!inner) return std::nullopt;
      size += kHeaderBytes + *inner;
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

// The class of the objects `b` holds whole, and how they are laid out in an entry; nullopt when
// `b` holds something else (values, containers of values, split parents).
std::optional<StoredObjects> stored_objects(const BranchInfo& b) {
  using Per = ObjectMember::Per;
  if (!b.is_element || !b.children.empty() || b.leaves.size() != 1) return std::nullopt;
  const bool in_collection = b.element_type == 31 || b.element_type == 41;
  const int st = b.streamer_type >= 0 ? b.streamer_type : (b.element ? b.element->type : -1);
  if (b.element_id < 0) {  // the branch's own object, stored whole
    if (in_collection || b.element_class.empty()) return std::nullopt;
    // A std::vector or std::map of objects (pairs), streamed object after object or member-wise.
    if (std::string item = collection_item(b.element_class); !item.empty()) return StoredObjects{item, Per::kVector};
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
    if (std::string item = collection_item(b.element->type_name); !item.empty()) return StoredObjects{item, Per::kVector};
  return std::nullopt;
}

void add_members(BranchInfo& b, const StreamerRegistry& reg) {
  for (auto& child : b.children) add_members(*child, reg);
  const auto objects = stored_objects(b);
  if (!objects) return;
  auto found = fixed_stream_layout(reg, objects->class_name, objects->version);
  if (!found || found->members.empty()) return;
  // Members alone are laid out as member-wise ones are; bases would bring headers of their own.
  if (objects->per == ObjectMember::Per::kBare && (!found->memberwise || found->bases)) return;
  const auto layout = std::make_shared<const StreamedLayout>(std::move(*found));
  for (const StreamedMember& m : layout->members) {
    auto member = std::make_shared<ObjectMember>();
    member->per = objects->per;
    member->layout = layout;
    member->member = m;
    auto c = std::make_unique<BranchInfo>();
    c->name = b.name + "." + m.name;
    c->title = c->name;
    c->class_name = b.class_name;
    c->path = b.path + "/" + c->name;
    c->parent = &b;
    c->entries = b.entries;
    c->entry_offset_len = b.entry_offset_len;
    c->baskets = b.baskets;  // the parent's: its stored bytes are counted once, on the parent
    c->object_member = std::move(member);
    b.children.push_back(std::move(c));
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
  Walk w{reg, layout};
  auto size = body(w, class_name, info->class_version, kHeaderBytes, "", 0);
  if (!size) return std::nullopt;
  layout.size = kHeaderBytes + *size;
  return layout;
}

void add_object_members(std::vector<std::unique_ptr<BranchInfo>>& branches, const StreamerRegistry& reg) {
  for (auto& b : branches) add_members(*b, reg);
}

}  // namespace m4h::root
