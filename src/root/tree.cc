#include "root/tree.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/suggest.h"
#include "root/object_layout.h"

namespace m4h::root {

namespace {

bool is_tree_class(const std::string& c) {
  return c == "TTree" || c == "TNtuple" || c == "TNtupleD" || c == "TChain";
}

LeafInfo leaf_from_object(const Object& o) {
  LeafInfo l;
  l.class_name = o.class_name;
  l.name = o.str("fName");
  l.title = o.str("fTitle");
  l.len = static_cast<int>(o.i64("fLen", 1));
  l.len_type = static_cast<int>(o.i64("fLenType"));
  l.is_unsigned = o.i64("fIsUnsigned") != 0;
  if (auto count = o.obj("fLeafCount")) l.count_leaf = count->str("fName");
  l.element_type = static_cast<int>(o.i64("fType", -1));
  // Leaf titles hold dimensions ("x[3][2]"), variable arrays ("x[n]") and, for Double32 and
  // Float16 leaves, a range ("d[-2.71,10,32]"), which has commas and is not a dimension.
  std::string dims_part = l.title;
  if (auto comma = dims_part.find(','); comma != std::string::npos) dims_part.clear();
  l.dims = dims_from_title(dims_part);
  return l;
}

const StreamerElement* find_element(const StreamerRegistry& reg, const std::string& cls,
                                    int version, int id, const std::string& branch_name) {
  const StreamerInfo* info = reg.find(cls, version);
  if (!info) return nullptr;
  // The member name is the last part of the branch name ("evt.fPx" -> "fPx", "a.b[3]" -> "b").
  std::string member = branch_name;
  if (auto dot = member.rfind('.'); dot != std::string::npos) member = member.substr(dot + 1);
  if (auto br = member.find('['); br != std::string::npos) member.resize(br);
  if (id >= 0 && static_cast<std::size_t>(id) < info->elements.size() &&
      info->elements[id].name == member)
    return &info->elements[id];
  for (const auto& e : info->elements)
    if (e.name == member) return &e;
  if (id >= 0 && static_cast<std::size_t>(id) < info->elements.size()) return &info->elements[id];
  return nullptr;
}

std::unique_ptr<BranchInfo> branch_from_object(const Object& o, const BranchInfo* parent,
                                               const StreamerRegistry& reg, int depth) {
  if (depth > 64) throw Error(ErrorCode::kCorrupt, "branches nested too deeply");
  auto b = std::make_unique<BranchInfo>();
  b->parent = parent;
  b->class_name = o.class_name;
  b->name = o.str("fName");
  b->title = o.str("fTitle");
  b->path = parent ? parent->path + "/" + b->name : b->name;
  b->entries = o.i64("fEntries");
  b->tot_bytes = o.i64("fTotBytes");
  b->zip_bytes = o.i64("fZipBytes");
  b->entry_offset_len = static_cast<int>(o.i64("fEntryOffsetLen"));
  for (const auto& leaf : o.list("fLeaves"))
    if (leaf) b->leaves.push_back(leaf_from_object(*leaf));

  // Baskets: fBasketEntry[i] is the first entry of basket i; fWriteBasket baskets are written
  // in keys of their own, and a basket still in memory at close is embedded in fBaskets.
  auto basket_entry = o.ints("fBasketEntry");
  auto basket_seek = o.ints("fBasketSeek");
  auto basket_bytes = o.ints("fBasketBytes");
  int64_t write_basket = o.i64("fWriteBasket");
  write_basket = std::min<int64_t>(write_basket, static_cast<int64_t>(basket_seek.size()));
  write_basket = std::min<int64_t>(write_basket, static_cast<int64_t>(basket_bytes.size()));
  write_basket = std::min<int64_t>(write_basket, static_cast<int64_t>(basket_entry.size()));
  for (int64_t i = 0; i < write_basket; ++i) {
    if (basket_seek[i] == 0) continue;
    BasketRef r;
    r.first_entry = basket_entry[i];
    // Baskets may be empty (two equal starts); fBasketEntry[fWriteBasket] ends the last one.
    int64_t next = i + 1 < static_cast<int64_t>(basket_entry.size()) ? basket_entry[i + 1] : b->entries;
    if (next < r.first_entry) next = b->entries;
    // A damaged fBasketEntry: a negative start, or one whose distance to the next overflows.
    if (r.first_entry < 0 || __builtin_sub_overflow(next, r.first_entry, &r.entries))
      throw Error(ErrorCode::kCorrupt, "branch '" + b->name + "': basket " + std::to_string(i) + " starts at entry " +
                                           std::to_string(r.first_entry) + " (fBasketEntry is damaged)");
    if (r.entries == 0) continue;  // nothing to read
    r.seek = basket_seek[i];
    r.bytes = static_cast<int32_t>(basket_bytes[i]);
    b->baskets.push_back(r);
  }
  const auto& embedded = o.list("fBaskets");
  for (std::size_t i = 0; i < embedded.size(); ++i) {
    const auto& eb = embedded[i];
    if (!eb || eb->class_name != "TBasket" || eb->i64("fNevBuf") <= 0) continue;
    BasketRef r;
    r.first_entry = i < basket_entry.size() ? basket_entry[i] : 0;
    if (!b->baskets.empty())
      r.first_entry = std::max(r.first_entry, b->baskets.back().first_entry + b->baskets.back().entries);
    r.entries = eb->i64("fNevBuf");
    r.embedded = eb;
    b->baskets.push_back(r);
  }
  std::sort(b->baskets.begin(), b->baskets.end(),
            [](const BasketRef& x, const BasketRef& y) { return x.first_entry < y.first_entry; });

  if (o.class_name == "TBranchElement" || o.class_name == "TBranchSTL") {
    b->is_element = true;
    b->element_class = o.str("fClassName");
    b->element_id = static_cast<int>(o.i64("fID", -1));
    b->element_type = static_cast<int>(o.i64("fType"));
    b->streamer_type = static_cast<int>(o.i64("fStreamerType", -1));
    b->class_version = static_cast<int>(o.i64("fClassVersion", -1));
    b->clones_name = o.str("fClonesName");
    if (auto count = o.obj("fBranchCount")) b->count_branch = count->str("fName");
    if (b->element_id >= 0)
      b->element = find_element(reg, b->element_class, b->class_version, b->element_id, b->name);
  }

  for (const auto& child : o.list("fBranches"))
    if (child) b->children.push_back(branch_from_object(*child, b.get(), reg, depth + 1));
  return b;
}

void flatten(const std::vector<std::unique_ptr<BranchInfo>>& in, std::vector<const BranchInfo*>& out) {
  for (const auto& b : in) {
    out.push_back(b.get());
    flatten(b->children, out);
  }
}

}  // namespace

std::vector<int> dims_from_title(const std::string& title) {
  std::vector<int> dims;
  std::size_t p = 0;
  while ((p = title.find('[', p)) != std::string::npos) {
    auto q = title.find(']', p);
    if (q == std::string::npos) break;
    std::string inside = title.substr(p + 1, q - p - 1);
    bool numeric = !inside.empty() &&
                   std::all_of(inside.begin(), inside.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (numeric) {
      // A dimension past int's range is corrupt: kept as -1, which the interpretation rejects.
      int d = -1;
      const auto [end, ec] = std::from_chars(inside.data(), inside.data() + inside.size(), d);
      dims.push_back(ec == std::errc() && end == inside.data() + inside.size() ? d : -1);
    }
    p = q + 1;
  }
  return dims;
}

int64_t BranchInfo::uncompressed_bytes() const { return tot_bytes; }
int64_t BranchInfo::compressed_bytes() const { return zip_bytes; }

std::shared_ptr<Tree> Tree::load(std::shared_ptr<File> file, std::string_view path) {
  Key key = file->find(path);
  if (!is_tree_class(key.class_name))
    throw Error(ErrorCode::kInvalidArgument, file->url() + ": '" + std::string(path) + "' is a " +
                                                 key.class_name + ", not a TTree");
  ObjectPtr o = file->read_object(key);
  auto t = std::shared_ptr<Tree>(new Tree());
  t->file_ = file;
  t->class_name_ = key.class_name;
  t->name_ = o->str("fName");
  t->title_ = o->str("fTitle");
  std::string p(path);
  if (auto semi = p.rfind(';'); semi != std::string::npos) p.resize(semi);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  t->path_ = p;
  t->entries_ = o->i64("fEntries");
  try {
    for (const auto& b : o->list("fBranches"))
      if (b) t->branches_.push_back(branch_from_object(*b, nullptr, file->streamers(), 0));
    add_object_members(t->branches_, file->streamers());
  } catch (Error& e) {
    e.add_context(file->url() + ": tree '" + t->path_ + "'");
    throw;
  }
  flatten(t->branches_, t->all_);
  return t;
}

const BranchInfo* Tree::find(std::string_view name) const {
  for (const auto* b : all_)
    if (b->path == name) return b;
  for (const auto* b : all_)
    if (b->name == name) return b;
  return nullptr;
}

std::string Tree::similar_names(std::string_view name) const {
  std::vector<std::string_view> names;
  names.reserve(all_.size());
  for (const auto* b : all_) names.push_back(b->name);
  return did_you_mean(name, names);
}

const BranchInfo* Tree::branch_of_leaf(std::string_view leaf_name, const BranchInfo* near) const {
  // Prefer a sibling under the same parent (split objects reuse member names).
  if (near && near->parent) {
    for (const auto& s : near->parent->children)
      for (const auto& l : s->leaves)
        if (l.name == leaf_name) return s.get();
  }
  for (const auto* b : all_)
    for (const auto& l : b->leaves)
      if (l.name == leaf_name) return b;
  return nullptr;
}

std::vector<std::string> tree_paths(const File& file) {
  std::vector<std::string> out;
  for (const auto& e : file.list_recursive())
    if (is_tree_class(e.key.class_name) &&
        std::find(out.begin(), out.end(), e.path) == out.end())
      out.push_back(e.path);
  return out;
}

}  // namespace m4h::root
