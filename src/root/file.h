// A ROOT file opened for reading: its header, directories and keys (TKey), the streamer infos,
// and decompressed object payloads. Thread-safe after open(): the metadata is immutable and reads
// go through the thread-safe byte source.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.h"
#include "root/object.h"
#include "root/streamer.h"

namespace m4h::root {

class Cursor;

struct FileHeader {
  int32_t version = 0;  // >= 1000000 means 64-bit seeks ("large file")
  int64_t begin = 0;
  int64_t end = 0;
  int64_t seek_free = 0;
  int32_t nbytes_free = 0;
  int32_t nbytes_name = 0;
  int32_t compress = 0;
  int64_t seek_info = 0;
  int32_t nbytes_info = 0;
  bool large() const { return version >= 1000000; }
};

// One TKey record (the header in front of every stored object).
struct Key {
  int32_t nbytes = 0;
  int16_t version = 0;
  int32_t objlen = 0;
  int16_t keylen = 0;
  int16_t cycle = 0;
  int64_t seek_key = 0;
  int64_t seek_pdir = 0;
  std::string class_name;
  std::string name;
  std::string title;

  bool is_directory() const {
    return class_name == "TDirectory" || class_name == "TDirectoryFile";
  }
  bool is_compressed() const { return objlen != nbytes - keylen; }
};

// Parses a TKey at the cursor (the same record layout serves baskets).
Key parse_key(Cursor& c);
// The same without the class name, name and title (skipped, not copied): for basket keys, read
// once per basket, whose names nothing uses.
Key parse_key_numbers(Cursor& c);

struct KeyEntry {
  std::string path;  // "dir/sub/name"
  Key key;
};

class File {
 public:
  // Opens a local path or URL; throws m4h::Error (kNotFound, kIo, kCorrupt: "not a ROOT file").
  static std::shared_ptr<File> open(const std::string& url);
  // The same with remote-access options (timeouts, retries, coalescing, redirector).
  static std::shared_ptr<File> open(const std::string& url, const io::SourceOptions& options);
  explicit File(std::unique_ptr<io::Source> source);

  const std::string& url() const { return source_->url(); }
  io::Source& source() const { return *source_; }
  const FileHeader& header() const { return header_; }
  const StreamerRegistry& streamers() const { return streamers_; }

  // Keys of the top directory.
  const std::vector<Key>& keys() const { return keys_; }
  // Keys of the subdirectory stored under `dir`.
  std::vector<Key> directory_keys(const Key& dir) const;
  // Every key, recursively, directories before their contents.
  std::vector<KeyEntry> list_recursive() const;

  // Finds "dir/sub/name" or "dir/sub/name;cycle" (highest cycle by default). Throws kNotFound
  // listing what the directory holds.
  Key find(std::string_view path) const;

  // The object's stored bytes, decompressed (size key.objlen).
  std::vector<uint8_t> read_payload(const Key& key) const;
  // The object, read generically with the file's streamer infos.
  ObjectPtr read_object(const Key& key) const;

 private:
  void read_header();
  void read_streamers();
  std::vector<Key> read_keys_list(int64_t seek_keys, int32_t nbytes_keys) const;
  void list_into(const std::vector<Key>& keys, const std::string& prefix,
                 std::vector<KeyEntry>& out, int depth) const;

  std::unique_ptr<io::Source> source_;
  FileHeader header_;
  std::vector<Key> keys_;
  StreamerRegistry streamers_;
};

}  // namespace m4h::root
