#include "root/file_writer.h"

#include <cstdint>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "core/error.h"
#include "root/object_writer.h"
#include "root/sink.h"

namespace m4h::root {

namespace {

constexpr int64_t kBegin = 100;
constexpr int kFileVersion = 62606;  // the ROOT release whose layouts we write (6.26/06)
constexpr int32_t kDirectoryRecordSize = 60;
constexpr int64_t kSmallLimit = std::numeric_limits<int32_t>::max();
// A fixed timestamp keeps output reproducible: same input, same bytes. 2026-01-01 00:00:00.
constexpr uint32_t kDatime = (uint32_t{2026 - 1995} << 26) | (1u << 22) | (1u << 17);

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int tstring_size(const std::string& s) { return static_cast<int>(s.size() + (s.size() < 255 ? 1 : 5)); }

}  // namespace

FileWriter::FileWriter(std::string path, CompressionSettings compression)
    : path_(std::move(path)), compression_(compression) {
  // Unique per writer, not only per process: two writers of one path must not share a file.
  static std::atomic<uint64_t> serial{0};
  tmp_path_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(serial.fetch_add(1));
  fd_ = ::open(tmp_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // never reuse a file
  if (fd_ < 0) throw Error(ErrorCode::kIo, path_ + ": cannot create: " + std::strerror(errno));
  // Header and top directory are written now with placeholders and completed by close().
  std::vector<uint8_t> zeros(static_cast<std::size_t>(kBegin), 0);
  append(zeros);
  Directory top;
  top.name = base_name(path_);
  top.seek_dir = kBegin;
  const std::string cls = "TFile";
  int keylen = key_length(cls, top.name, "", false);
  top.nbytes_name = keylen + tstring_size(top.name) + tstring_size("");
  top.seek_key = kBegin;
  dirs_.push_back(top);
  std::vector<uint8_t> region(static_cast<std::size_t>(top.nbytes_name + kDirectoryRecordSize), 0);
  append(region);  // filled in by close()
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!closed_) std::remove(tmp_path_.c_str());
}

// Unbuffered: a key's header and its object go out in one writev (a basket is one system call
// and one copy, where stdio made two calls and copied each basket's tail through its buffer).
int64_t FileWriter::append(std::span<const uint8_t> first, std::span<const uint8_t> second) {
  if (fd_ < 0) throw Error(ErrorCode::kInvalidArgument, path_ + ": the file is already closed");
  const int64_t at = end_;
  iovec parts[2] = {{const_cast<uint8_t*>(first.data()), first.size()},
                    {const_cast<uint8_t*>(second.data()), second.size()}};
  iovec* next = parts;
  int left = 2;
  while (left > 0) {
    if (next->iov_len == 0) {
      ++next, --left;
      continue;
    }
    const ssize_t n = ::writev(fd_, next, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorCode::kIo, path_ + ": write failed at offset " + std::to_string(end_) + ": " +
                                      std::strerror(n < 0 ? errno : EIO));
    end_ += n;
    for (std::size_t done = static_cast<std::size_t>(n); done > 0;) {  // a short write: go on after it
      const std::size_t k = std::min(done, next->iov_len);
      next->iov_base = static_cast<uint8_t*>(next->iov_base) + k;
      next->iov_len -= k;
      done -= k;
      if (next->iov_len == 0) ++next, --left;
    }
  }
  return at;
}

void FileWriter::write_at(int64_t at, std::span<const uint8_t> bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorCode::kIo, path_ + ": write failed at offset " + std::to_string(at + done) + ": " +
                                      std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
}

int FileWriter::key_length(const std::string& cls, const std::string& name,
                           const std::string& title, bool large) const {
  return 18 + (large ? 16 : 8) + tstring_size(cls) + tstring_size(name) + tstring_size(title);
}

std::vector<uint8_t> FileWriter::key_header(const Key& k) const {
  Sink s;
  s.i32(k.nbytes);
  s.i16(k.version);
  s.i32(k.objlen);
  s.u32(kDatime);
  s.i16(k.keylen);
  s.i16(k.cycle);
  if (k.version > 1000) {
    s.i64(k.seek_key);
    s.i64(k.seek_pdir);
  } else {
    s.i32(static_cast<int32_t>(k.seek_key));
    s.i32(static_cast<int32_t>(k.seek_pdir));
  }
  s.tstring(k.class_name);
  s.tstring(k.name);
  s.tstring(k.title);
  return std::move(s.bytes());
}

int16_t FileWriter::next_cycle(const Directory& d, const std::string& name) const {
  int16_t c = 0;
  for (const auto& k : d.keys)
    if (k.name == name) c = std::max(c, k.cycle);
  return static_cast<int16_t>(c + 1);
}

FileWriter::Written FileWriter::write_key(Key key, int dir, std::span<const uint8_t> object_bytes,
                                          bool listed, std::span<const uint8_t> key_extra) {
  std::vector<uint8_t> stored = compress(compression_, object_bytes);
  return write_stored_key(std::move(key), dir, stored, static_cast<int64_t>(object_bytes.size()), listed,
                          key_extra);
}

FileWriter::Written FileWriter::write_stored_key(Key key, int dir, std::span<const uint8_t> stored,
                                                 int64_t objlen, bool listed,
                                                 std::span<const uint8_t> key_extra) {
  if (objlen > INT32_MAX || static_cast<int64_t>(stored.size()) > INT32_MAX - key.keylen)
    throw Error(ErrorCode::kInvalidArgument, "object '" + key.name + "' of " + std::to_string(objlen) +
                                                 " bytes is too large for one key (2 GiB)");
  key.objlen = static_cast<int32_t>(objlen);
  key.nbytes = static_cast<int32_t>(key.keylen + stored.size());
  key.seek_key = end_;
  key.seek_pdir = dirs_[dir].seek_dir;
  std::vector<uint8_t> header = key_header(key);
  header.insert(header.end(), key_extra.begin(), key_extra.end());
  if (static_cast<int>(header.size()) != key.keylen)
    throw Error(ErrorCode::kInternal, "key length mismatch writing '" + key.name + "'");
  append(header, stored);
  if (listed) dirs_[dir].keys.push_back(key);
  return {key.seek_key, key.nbytes, key.objlen, key.keylen};
}

Key FileWriter::new_key(const std::string& class_name, const std::string& name,
                       const std::string& title, int16_t cycle) const {
  Key key;
  key.class_name = class_name;
  key.name = name;
  key.title = title;
  bool large = end_ > kSmallLimit;
  key.version = large ? 1004 : 4;
  key.keylen = static_cast<int16_t>(key_length(class_name, name, title, large));
  key.cycle = cycle;
  return key;
}

FileWriter::Written FileWriter::write_object(
    const std::string& class_name, const std::string& name, const std::string& title, int dir,
    const std::function<std::vector<uint8_t>(int keylen)>& build) {
  std::lock_guard lock(mutex_);
  Key key = new_key(class_name, name, title, next_cycle(dirs_.at(dir), name));
  std::vector<uint8_t> bytes = build(key.keylen);
  return write_key(key, dir, bytes, true, {});
}

int FileWriter::basket_key_length(const std::string& branch, const std::string& tree) {
  return 18 + 16 + tstring_size("TBasket") + tstring_size(branch) + tstring_size(tree) + 19;
}

Key FileWriter::basket_key(const std::string& branch, const std::string& tree) {
  Key key;
  key.class_name = "TBasket";
  key.name = branch;
  key.title = tree;
  key.version = 1004;  // ROOT writes basket keys with 64-bit seeks
  key.cycle = 1;
  key.keylen = static_cast<int16_t>(basket_key_length(branch, tree));
  return key;
}

FileWriter::Written FileWriter::write_basket(const std::string& branch, const std::string& tree,
                                             int dir, std::span<const uint8_t> basket_fields,
                                             std::span<const uint8_t> payload) {
  std::lock_guard lock(mutex_);
  return write_key(basket_key(branch, tree), dir, payload, false, basket_fields);
}

FileWriter::Written FileWriter::write_compressed_basket(const std::string& branch, const std::string& tree,
                                                        int dir, std::span<const uint8_t> basket_fields,
                                                        std::span<const uint8_t> stored, int64_t objlen) {
  std::lock_guard lock(mutex_);
  return write_stored_key(basket_key(branch, tree), dir, stored, objlen, false, basket_fields);
}

int FileWriter::mkdir(const std::string& name, int parent) {
  std::lock_guard lock(mutex_);
  Directory d;
  d.name = name;
  d.parent = parent;
  Key key = new_key("TDirectory", name, "", next_cycle(dirs_.at(parent), name));
  key.objlen = kDirectoryRecordSize;
  key.nbytes = key.keylen + kDirectoryRecordSize;
  key.seek_key = end_;
  key.seek_pdir = dirs_[parent].seek_dir;
  d.seek_key = end_;
  d.seek_dir = end_;  // ROOT points fSeekDir of a subdirectory at its key
  d.nbytes_name = key.keylen;
  std::vector<uint8_t> record(kDirectoryRecordSize, 0);
  append(key_header(key), record);  // the record is completed by close()
  dirs_[parent].keys.push_back(key);
  dirs_.push_back(d);
  return static_cast<int>(dirs_.size() - 1);
}

void FileWriter::add_streamer(const StreamerInfo& info) {
  std::lock_guard lock(mutex_);
  if (streamers_.find(info.name, info.class_version) &&
      streamers_.find(info.name, info.class_version)->class_version == info.class_version)
    return;
  streamers_.add(info);
  streamer_order_.push_back(info.name + ";" + std::to_string(info.class_version));
}

std::vector<uint8_t> FileWriter::directory_record(const Directory& d, int64_t seek_keys,
                                                  int32_t nbytes_keys) const {
  int64_t seek_parent = d.parent >= 0 ? dirs_[d.parent].seek_dir : 0;
  bool large = seek_keys > kSmallLimit || d.seek_dir > kSmallLimit;
  Sink s;
  s.i16(static_cast<int16_t>(large ? 1005 : 5));
  s.u32(kDatime);
  s.u32(kDatime);
  s.i32(nbytes_keys);
  s.i32(d.nbytes_name);
  if (large) {
    s.i64(d.seek_dir);
    s.i64(seek_parent);
    s.i64(seek_keys);
  } else {
    s.i32(static_cast<int32_t>(d.seek_dir));
    s.i32(static_cast<int32_t>(seek_parent));
    s.i32(static_cast<int32_t>(seek_keys));
  }
  s.u16(1);  // UUID version, then 16 bytes of UUID
  s.zeros(16);
  s.zeros(kDirectoryRecordSize - s.size());
  return std::move(s.bytes());
}

void FileWriter::close() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  // 1. The streamer record: a TList of TStreamerInfo.
  Written info;
  {
    Key key = new_key("TList", "StreamerInfo", "Doubly linked list", 1);
    Sink s(key.keylen);
    ObjectWriter w(s, streamers_);
    std::size_t at = s.begin_object(5);
    s.u16(1);
    s.u32(0);
    s.u32(0x03000000);
    s.tstring("");
    auto all = streamers_.all();
    s.i32(static_cast<int32_t>(all.size()));
    for (const auto* si : all) {
      w.write_streamer_info(*si);
      s.u8(0);  // option
    }
    s.end_object(at);
    info = write_key(key, 0, s.bytes(), false, {});
  }
  // 2. Keys lists, deepest directories first, and their directory records.
  for (int d = static_cast<int>(dirs_.size()) - 1; d >= 0; --d) {
    Directory& dir = dirs_[d];
    Key key = new_key(d == 0 ? "TFile" : "TDirectory", dir.name, "", 1);
    Sink s;
    s.i32(static_cast<int32_t>(dir.keys.size()));
    for (const auto& k : dir.keys) {
      auto h = key_header(k);
      s.bytes(h);
    }
    key.objlen = static_cast<int32_t>(s.size());
    key.nbytes = key.keylen + key.objlen;
    key.seek_key = end_;
    key.seek_pdir = dir.seek_dir;
    int64_t seek_keys = end_;
    append(key_header(key), s.bytes());
    int64_t record_at = d == 0 ? kBegin + dir.nbytes_name : dir.seek_key + dir.nbytes_name;
    write_at(record_at, directory_record(dir, seek_keys, key.nbytes));
  }
  // 3. Free segments: one record saying everything after the end of the file is free.
  // Its form (32- or 64-bit fields) depends on where the file ends, which includes the record
  // itself: a file ending just below the limit may pass it with the record.
  Key free_key = new_key("TFile", dirs_[0].name, "", 1);
  free_key.objlen = 10;
  bool large = end_ + free_key.keylen + free_key.objlen > kSmallLimit;
  if (large) free_key.objlen = 18;
  free_key.nbytes = free_key.keylen + free_key.objlen;
  free_key.seek_key = end_;
  free_key.seek_pdir = kBegin;
  int64_t file_end = end_ + free_key.nbytes;
  bool large_file = file_end > kSmallLimit;
  Sink fs;
  if (large) {
    fs.i16(1001);
    fs.i64(file_end);
    fs.i64(std::max<int64_t>(file_end, 2000000000) + (large_file ? 1000000000 : 0));
  } else {
    fs.i16(1);
    fs.i32(static_cast<int32_t>(file_end));
    fs.i32(2000000000);
  }
  append(key_header(free_key), fs.bytes());

  // 4. The top directory's key and name, and the file header.
  {
    const Directory& top = dirs_[0];
    Key k;
    k.class_name = "TFile";
    k.name = top.name;
    k.version = 4;
    k.keylen = static_cast<int16_t>(key_length(k.class_name, k.name, "", false));
    k.cycle = 1;
    k.nbytes = top.nbytes_name + kDirectoryRecordSize;
    k.objlen = k.nbytes - k.keylen;
    k.seek_key = kBegin;
    k.seek_pdir = 0;
    Sink s;
    s.bytes(key_header(k));
    s.tstring(top.name);
    s.tstring("");
    write_at(kBegin, s.bytes());
  }
  Sink h;
  h.bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("root"), 4));
  h.i32(large_file ? kFileVersion + 1000000 : kFileVersion);
  h.i32(static_cast<int32_t>(kBegin));
  if (large_file) {
    h.i64(file_end);
    h.i64(free_key.seek_key);
  } else {
    h.i32(static_cast<int32_t>(file_end));
    h.i32(static_cast<int32_t>(free_key.seek_key));
  }
  h.i32(free_key.nbytes);
  h.i32(1);  // nfree
  h.i32(dirs_[0].nbytes_name);
  h.u8(large_file ? 8 : 4);
  h.i32(compression_.to_root());
  if (large_file) {
    h.i64(info.seek);
  } else {
    h.i32(static_cast<int32_t>(info.seek));
  }
  h.i32(info.nbytes);
  h.u16(1);
  h.zeros(16);
  write_at(0, h.bytes());

  const int fd = std::exchange(fd_, -1);
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw Error(ErrorCode::kIo, path_ + ": cannot finish writing: " + std::strerror(errno));
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    throw Error(ErrorCode::kIo, path_ + ": cannot rename the finished file into place: " +
                                    std::strerror(errno));
  closed_ = true;
}

}  // namespace m4h::root
