#include "root/file.h"

#include <algorithm>
#include <cstring>

#include "root/compression.h"
#include "root/cursor.h"
#include "root/object_reader.h"

namespace m4h::root {

namespace {

constexpr int kMaxDirectoryDepth = 64;

// The part of a TDirectory record that locates its keys.
struct DirectoryRecord {
  int64_t seek_keys = 0;
  int32_t nbytes_keys = 0;
};

DirectoryRecord parse_directory(Cursor& c) {
  DirectoryRecord d;
  int version = c.u16();
  c.u32();  // ctime
  c.u32();  // mtime
  d.nbytes_keys = c.i32();
  c.i32();  // nbytes name
  if (version > 1000) {
    c.i64();  // seek dir
    c.i64();  // seek parent
    d.seek_keys = c.i64();
  } else {
    c.i32();
    c.i32();
    d.seek_keys = c.i32();
  }
  return d;
}

}  // namespace

namespace {

Key parse_key_fields(Cursor& c, bool names) {
  Key k;
  k.nbytes = c.i32();
  k.version = c.i16();
  k.objlen = c.i32();
  c.u32();  // datime
  k.keylen = c.i16();
  k.cycle = c.i16();
  if (k.version > 1000) {
    k.seek_key = c.i64();
    k.seek_pdir = c.i64();
  } else {
    k.seek_key = c.i32();
    k.seek_pdir = c.i32();
  }
  if (names) {
    k.class_name = c.tstring();
    k.name = c.tstring();
    k.title = c.tstring();
  } else {
    for (int i = 0; i < 3; ++i) c.skip_tstring();
  }
  if (k.nbytes < 0 || k.keylen < 0 || k.objlen < 0 || k.keylen > k.nbytes || k.seek_key < 0)
    c.fail("invalid key '" + k.name + "' (nbytes " + std::to_string(k.nbytes) + ", keylen " +
           std::to_string(k.keylen) + ", objlen " + std::to_string(k.objlen) + ")");
  return k;
}

}  // namespace

Key parse_key(Cursor& c) { return parse_key_fields(c, true); }
Key parse_key_numbers(Cursor& c) { return parse_key_fields(c, false); }

std::shared_ptr<File> File::open(const std::string& url) {
  return std::make_shared<File>(io::open_source(url));
}

std::shared_ptr<File> File::open(const std::string& url, const io::SourceOptions& options) {
  return std::make_shared<File>(io::open_source(url, options));
}

File::File(std::unique_ptr<io::Source> source) : source_(std::move(source)) {
  try {
    read_header();
    read_streamers();
  } catch (Error& e) {
    if (e.message().find(source_->url()) == std::string::npos) e.add_context(source_->url());
    throw;
  }
}

void File::read_header() {
  uint64_t size = source_->size();
  if (size < 4) throw Error(ErrorCode::kCorrupt, "not a ROOT file (too short)");
  auto head = source_->read(0, std::min<uint64_t>(size, 128));
  if (std::memcmp(head.data(), "root", 4) != 0)
    throw Error(ErrorCode::kCorrupt, "not a ROOT file (no 'root' magic at offset 0)");
  Cursor c(head);
  c.skip(4);
  header_.version = c.i32();
  header_.begin = c.i32();
  if (header_.large()) {
    header_.end = c.i64();
    header_.seek_free = c.i64();
    header_.nbytes_free = c.i32();
    c.i32();  // nfree
    header_.nbytes_name = c.i32();
    c.u8();   // units
    header_.compress = c.i32();
    header_.seek_info = c.i64();
    header_.nbytes_info = c.i32();
  } else {
    header_.end = c.i32();
    header_.seek_free = c.i32();
    header_.nbytes_free = c.i32();
    c.i32();
    header_.nbytes_name = c.i32();
    c.u8();
    header_.compress = c.i32();
    header_.seek_info = c.i32();
    header_.nbytes_info = c.i32();
  }
  if (header_.begin <= 0 || static_cast<uint64_t>(header_.begin) >= size || header_.nbytes_name <= 0 ||
      header_.nbytes_name > 1 << 20)
    throw Error(ErrorCode::kCorrupt, "file header is corrupt (fBEGIN " + std::to_string(header_.begin) +
                                         ", fNbytesName " + std::to_string(header_.nbytes_name) +
                                         ") at offset 8");

  // The top directory record follows its key and name at fBEGIN + fNbytesName.
  uint64_t dir_at = static_cast<uint64_t>(header_.begin) + header_.nbytes_name;
  auto dir_bytes = source_->read(dir_at, std::min<uint64_t>(size - std::min(size, dir_at), 64));
  Cursor dc(dir_bytes, dir_at);
  DirectoryRecord top = parse_directory(dc);
  keys_ = read_keys_list(top.seek_keys, top.nbytes_keys);
}

std::vector<Key> File::read_keys_list(int64_t seek_keys, int32_t nbytes_keys) const {
  if (seek_keys == 0) return {};  // an empty directory that was never written
  if (seek_keys < 0 || nbytes_keys <= 0 ||
      static_cast<uint64_t>(seek_keys) + nbytes_keys > source_->size())
    throw Error(ErrorCode::kCorrupt, "keys list at offset " + std::to_string(seek_keys) + " (" +
                                         std::to_string(nbytes_keys) + " bytes) is outside the file");
  auto bytes = source_->read(seek_keys, nbytes_keys);
  Cursor c(bytes, seek_keys);
  parse_key(c);  // the key of the keys list itself
  int32_t n = c.i32();
  if (n < 0 || n > nbytes_keys / 20) c.fail("implausible number of keys " + std::to_string(n));
  std::vector<Key> keys;
  keys.reserve(n);
  for (int32_t i = 0; i < n; ++i) keys.push_back(parse_key(c));
  return keys;
}

void File::read_streamers() {
  if (header_.seek_info <= 0 || header_.nbytes_info <= 0) return;
  auto bytes = source_->read(header_.seek_info, header_.nbytes_info);
  Cursor kc(bytes, header_.seek_info);
  Key key = parse_key(kc);
  auto payload = read_payload(key);
  Cursor c(payload, 0, -static_cast<int64_t>(key.keylen));
  ObjectReader reader(c, nullptr);
  ObjectPtr list;
  try {
    list = reader.read_object("TList");
  } catch (Error& e) {
    e.add_context("streamer info record at offset " + std::to_string(header_.seek_info));
    throw;
  }
  for (const auto& item : list->items) {
    if (item && item->class_name == "TStreamerInfo")
      streamers_.add(streamer_info_from_object(*item));
  }
}

std::vector<Key> File::directory_keys(const Key& dir) const {
  auto payload = read_payload(dir);
  Cursor c(payload, static_cast<uint64_t>(dir.seek_key) + dir.keylen);
  DirectoryRecord d = parse_directory(c);
  return read_keys_list(d.seek_keys, d.nbytes_keys);
}

void File::list_into(const std::vector<Key>& keys, const std::string& prefix,
                     std::vector<KeyEntry>& out, int depth) const {
  if (depth > kMaxDirectoryDepth) throw Error(ErrorCode::kCorrupt, "directories nested too deeply");
  for (const auto& k : keys) {
    std::string path = prefix.empty() ? k.name : prefix + "/" + k.name;
    out.push_back({path, k});
    if (k.is_directory()) list_into(directory_keys(k), path, out, depth + 1);
  }
}

std::vector<KeyEntry> File::list_recursive() const {
  std::vector<KeyEntry> out;
  list_into(keys_, "", out, 0);
  return out;
}

Key File::find(std::string_view path) const {
  int cycle = -1;
  std::string p(path);
  if (auto semi = p.rfind(';'); semi != std::string::npos) {
    cycle = std::atoi(p.c_str() + semi + 1);
    p.resize(semi);
  }
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  std::vector<Key> keys = keys_;
  std::string walked;
  for (;;) {
    auto slash = p.find('/');
    std::string part = p.substr(0, slash);
    bool last = slash == std::string::npos;
    const Key* best = nullptr;
    for (const auto& k : keys) {
      if (k.name != part) continue;
      if (!last && !k.is_directory()) continue;
      if (last && cycle >= 0) {
        if (k.cycle == cycle) best = &k;
      } else if (!best || k.cycle > best->cycle) {
        best = &k;
      }
    }
    if (!best) {
      std::string names;
      for (const auto& k : keys) {
        if (!names.empty()) names += ", ";
        names += k.name + ";" + std::to_string(k.cycle) + " (" + k.class_name + ")";
      }
      throw Error(ErrorCode::kNotFound,
                  url() + ": no object '" + std::string(path) + "'" +
                      (walked.empty() ? "" : " in directory '" + walked + "'") +
                      "; it holds: " + (names.empty() ? "nothing" : names));
    }
    if (last) return *best;
    walked += (walked.empty() ? "" : "/") + part;
    keys = directory_keys(*best);
    p = p.substr(slash + 1);
  }
}

std::vector<uint8_t> File::read_payload(const Key& key) const {
  auto stored_len = static_cast<uint64_t>(key.nbytes - key.keylen);
  uint64_t at = static_cast<uint64_t>(key.seek_key) + key.keylen;
  auto stored = source_->read(at, stored_len);
  if (!key.is_compressed()) return std::vector<uint8_t>(stored.begin(), stored.end());
  std::vector<uint8_t> out;
  try {
    decompress_record(stored, static_cast<std::size_t>(key.objlen), out);
  } catch (Error& e) {
    e.add_context("object '" + key.name + "' stored at offset " + std::to_string(at));
    throw;
  }
  return out;
}

ObjectPtr File::read_object(const Key& key) const {
  auto payload = read_payload(key);
  Cursor c(payload, 0, -static_cast<int64_t>(key.keylen));
  ObjectReader reader(c, &streamers_);
  try {
    return reader.read_object(key.class_name);
  } catch (Error& e) {
    e.add_context("object '" + key.name + "' (" + key.class_name + ") at offset " +
                  std::to_string(key.seek_key));
    throw;
  }
}

}  // namespace m4h::root
