// How a branch's bytes map to a column: the on-disk layout of one entry and the output type.
// Decided once per branch from its leaves, its TBranchElement fields and the streamer infos.
#pragma once

#include <string>
#include <vector>

#include "root/column.h"
#include "root/streamer.h"
#include "root/tree.h"

namespace m4h::root {

enum class Layout {
  kNone,          // holds no data itself (the parent of split members)
  kFlat,          // fixed-size entries: one value, or a fixed array (shape)
  kCounted,       // header_bytes, then values up to the end of the entry (count from a counter)
  kVector,        // header, int32 n, n values                         (std::vector<T>)
  kVectorVector,  // header, int32 n, n x (int32 m, m values)           (std::vector<std::vector<T>>)
  kString,        // header, one string (1-byte length, or 255 + 4-byte length)
  kVectorString,  // header, int32 n, n strings                          (std::vector<std::string>)
  kNested,        // any nesting of STL sequences (vector, set, list, deque) of values or strings
  kRecord,        // a leaf list ("x/D:y/I:z/B"): fixed-size fields one after the other
  kObjectMember,  // one member of fixed-size objects stored whole (root/object_layout.h)
  kUnsupported,
};

// How packed floating-point values are stored.
enum class Packing { kNone, kFloatAsDouble, kFactor, kNbits };

struct Interpretation {
  Layout layout = Layout::kUnsupported;
  DType dtype = DType::kFloat64;  // output type of the innermost values
  DType disk = DType::kFloat64;   // on-disk type when not packed
  Packing packing = Packing::kNone;
  FloatPacking float_packing;
  std::vector<int> shape;      // fixed dimensions of each item
  int header_bytes = 0;        // bytes to skip at the start of each entry (kFlat: none)
  bool stl_header = false;     // entries start with byte count + version (6 bytes), if present
  const BranchInfo* counter = nullptr;  // kCounted: the branch holding per-entry counts
  std::string cpp_type;        // the type as C++ spells it, e.g. "std::vector<float>", "int32_t[3]"
  std::string reason;          // why kUnsupported
  // kNested: the number of container levels, and whether the innermost items are strings.
  int containers = 0;
  bool strings = false;
  // The outermost level has no stored size: items run to the end of the entry (string members
  // of split collections, whose count lives in the collection's counter branch).
  bool until_entry_end = false;
  // kRecord: one flat interpretation per field, at `field_offsets` bytes into each entry.
  std::vector<std::string> field_names;
  std::vector<Interpretation> fields;
  std::vector<int64_t> field_offsets;
  int64_t record_size = 0;
  // kObjectMember: objects of `object_size` bytes (header included, if they have one) of class version
  // `object_version`, the value at `member_offset` bytes into each. containers == 0: one object
  // per entry; 1: several, after a std::vector header (stl_header) or back to back; 2: a
  // std::vector of std::vectors of them. An object written as version 0 and the class's checksum
  // `object_checksum` (a class without a ClassDef) is `foreign_size` bytes, the value at
  // `foreign_offset` (foreign_size == 0: the class is never written so).
  int64_t object_size = 0;
  int64_t member_offset = 0;
  int object_version = 0;
  std::string object_class;
  int64_t foreign_size = 0;
  int64_t foreign_offset = 0;
  uint32_t object_checksum = 0;
  // A vector streamed member-wise (the collection's version says so, entry by entry): each member
  // for all objects in turn, `memberwise_size` bytes per object, this member's values starting
  // `memberwise_offset` bytes per object in. memberwise_size == 0: that layout is not known.
  int64_t memberwise_size = 0;
  int64_t memberwise_offset = 0;
  bool object_header = true;  // each object starts with its byte count and version
  // kNested: the keys (0) or values (1) of a std::map streamed member-wise, -1 otherwise. An entry
  // holds the map's byte count and version, the pairs' version, their count n, then n keys, then
  // n values. A part whose type is a std::string or an STL container starts with a byte count and
  // version of its own (map_block_header). The values are found past the keys: n keys of
  // `map_key_bytes` bytes each, or (0) by the keys' byte count, or (-1) n TStrings.
  int map_part = -1;
  bool map_block_header = false;
  int map_key_bytes = 0;

  // Container levels and string-ness for every parsed layout (kString, kVector, ... kNested).
  int container_levels() const;
  bool innermost_strings() const;

  int disk_value_size() const;  // bytes of one stored value
  int64_t disk_item_size() const;  // bytes of one item (value x shape)
  std::string kind_name() const;    // "flat", "fixed array", "jagged", "nested jagged", "string", ...
  bool supported() const { return layout != Layout::kUnsupported && layout != Layout::kNone; }
};

Interpretation interpret(const Tree& tree, const BranchInfo& branch);

// A basic-type streamer element (type codes 1..19) as one value; kUnsupported for other elements.
Interpretation basic_member_interpretation(const StreamerElement& element);

// A type name as the interpretation compares them: "std::vector<std::vector<float> >" ->
// "vector<vector<float>>" (no "std::", no space before '>'; RVec as vector).
std::string normalize_type_name(std::string type);

}  // namespace m4h::root
