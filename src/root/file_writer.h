// Writes a ROOT file: header, top directory and subdirectories, keys, the streamer record, the
// keys lists and the free-segments record. Objects go to a temporary name that is renamed to the
// final one only by close(), so a failed write never leaves a corrupt file under that name.
// Offsets past 2 GiB switch keys, directories and the header to their 64-bit forms.
// Thread-safe: each call is serialised, so trees filled on several threads can share a file (their
// keys then follow one another in the order the calls arrive).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "root/compression.h"
#include "root/file.h"
#include "root/streamer.h"

namespace m4h::root {

class FileWriter {
 public:
  // Creates `path` (through "<path>.tmp-<pid>"). Throws m4h::Error kIo.
  FileWriter(std::string path, CompressionSettings compression);
  ~FileWriter();  // without close(): the temporary file is removed
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  const std::string& path() const { return path_; }
  CompressionSettings compression() const { return compression_; }

  // A subdirectory of `parent` (0 = top directory); returns its id for later calls.
  int mkdir(const std::string& name, int parent = 0);

  // Builds the stored bytes of a key around `object` (compressed per the file's settings);
  // `build` serialises the object given the key length (needed for ROOT's reference positions).
  struct Written {
    int64_t seek = 0;
    int32_t nbytes = 0;
    int32_t objlen = 0;
    int keylen = 0;
  };
  // Writes an object listed in directory `dir`. `build` runs under the writer's lock: it must not
  // call this FileWriter.
  Written write_object(const std::string& class_name, const std::string& name,
                       const std::string& title, int dir,
                       const std::function<std::vector<uint8_t>(int keylen)>& build);
  // The key length of a basket of `branch` in `tree`, its 19 bytes of basket fields included.
  static int basket_key_length(const std::string& branch, const std::string& tree);
  // Writes a basket key (listed in no directory): `basket_fields` are the 19 bytes that follow
  // the key fields (version, buffer size, fNevBufSize, fNevBuf, fLast, flag); `payload` is the
  // uncompressed basket buffer (data, then entry offsets if any).
  Written write_basket(const std::string& branch, const std::string& tree, int dir,
                       std::span<const uint8_t> basket_fields, std::span<const uint8_t> payload);
  // The same for a payload compressed already, e.g. on other threads: `stored` is
  // compress(compression(), payload) and `objlen` the payload's size.
  Written write_compressed_basket(const std::string& branch, const std::string& tree, int dir,
                                  std::span<const uint8_t> basket_fields,
                                  std::span<const uint8_t> stored, int64_t objlen);

  // Classes whose streamer infos the file must carry.
  void add_streamer(const StreamerInfo& info);

  // Writes the streamer record, keys lists, free segments and header, then renames the file.
  void close();

 private:
  struct Directory {
    std::string name;
    int parent = -1;
    int64_t seek_dir = 0;    // where the directory record is
    int64_t seek_key = 0;    // where its key is (subdirectories)
    int32_t nbytes_name = 0;
    std::vector<Key> keys;
  };

  // Writes `first` then `second` at the end of the file; returns where they start.
  int64_t append(std::span<const uint8_t> first, std::span<const uint8_t> second = {});
  void write_at(int64_t at, std::span<const uint8_t> bytes);
  int16_t next_cycle(const Directory& d, const std::string& name) const;
  // A key for the next position in the file: 64-bit seeks once past 2 GiB.
  Key new_key(const std::string& class_name, const std::string& name, const std::string& title,
              int16_t cycle) const;
  std::vector<uint8_t> key_header(const Key& k) const;
  int key_length(const std::string& cls, const std::string& name, const std::string& title, bool large) const;
  std::vector<uint8_t> directory_record(const Directory& d, int64_t seek_keys, int32_t nbytes_keys) const;
  Written write_key(Key key, int dir, std::span<const uint8_t> object_bytes, bool listed,
                    std::span<const uint8_t> key_extra);
  Written write_stored_key(Key key, int dir, std::span<const uint8_t> stored, int64_t objlen,
                           bool listed, std::span<const uint8_t> key_extra);
  static Key basket_key(const std::string& branch, const std::string& tree);

  std::mutex mutex_;  // held by every public call that reads or changes what follows
  std::string path_;
  std::string tmp_path_;
  CompressionSettings compression_;
  int fd_ = -1;  // the temporary file, written without stdio (see append)
  int64_t end_ = 0;
  bool closed_ = false;
  std::vector<Directory> dirs_;
  StreamerRegistry streamers_;
  std::vector<std::string> streamer_order_;
};

}  // namespace m4h::root
