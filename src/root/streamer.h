// Streamer infos: the class layouts a ROOT file carries (TStreamerInfo and its TStreamerElement
// subclasses), as plain data, plus ROOT's element type codes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "root/object.h"

namespace m4h::root {

// TStreamerElement fType codes (TVirtualStreamerInfo::EReadWrite).
namespace etype {
inline constexpr int kBase = 0;
inline constexpr int kChar = 1, kShort = 2, kInt = 3, kLong = 4, kFloat = 5, kCounter = 6,
                     kCharStar = 7, kDouble = 8, kDouble32 = 9, kLegacyChar = 10, kUChar = 11,
                     kUShort = 12, kUInt = 13, kULong = 14, kBits = 15, kLong64 = 16,
                     kULong64 = 17, kBool = 18, kFloat16 = 19;
inline constexpr int kOffsetL = 20, kOffsetP = 40;
inline constexpr int kObject = 61, kAny = 62, kObjectp = 63, kObjectP = 64, kTString = 65,
                     kTObject = 66, kTNamed = 67, kAnyp = 68, kAnyP = 69, kAnyPnoVT = 70,
                     kSTLp = 71;
inline constexpr int kSTL = 300, kSTLstring = 365;
inline constexpr int kStreamer = 500, kStreamLoop = 501;
}  // namespace etype

// Range and precision of a Double32_t / Float16_t, parsed from the element or leaf title
// "[xmin, xmax]" or "[xmin, xmax, nbits]".
struct FloatPacking {
  double xmin = 0;
  double xmax = 0;
  double factor = 0;  // != 0: stored as uint32 (value - xmin) * factor
  int nbits = 0;      // factor == 0 && nbits != 0: stored as exponent byte + nbits-bit mantissa
};
// Parses ROOT's "[a, b(, n)]" title convention; `is_float16` sets the Float16_t defaults.
FloatPacking parse_float_packing(const std::string& title, bool is_float16);

struct StreamerElement {
  std::string kind;  // TStreamerBase, TStreamerBasicType, TStreamerSTL, ...
  std::string name;
  std::string title;
  std::string type_name;
  int type = 0;
  int size = 0;
  int array_length = 0;
  int array_dim = 0;
  std::array<int, 5> max_index{};
  int base_version = -1;   // TStreamerBase
  std::string count_name;  // TStreamerBasicPointer / TStreamerLoop
  std::string count_class;
  int count_version = 0;
  int stl_type = 0;  // TStreamerSTL: 1 vector, 4 map, ...
  int ctype = 0;     // TStreamerSTL: element type code
  FloatPacking packing;
};

struct StreamerInfo {
  std::string name;
  std::string title;
  uint32_t checksum = 0;
  int class_version = 0;
  std::vector<StreamerElement> elements;
};

// All streamer infos of a file, by class name and version.
class StreamerRegistry {
 public:
  void add(StreamerInfo info);
  // The info for (name, version), else the highest version known; nullptr if none.
  const StreamerInfo* find(const std::string& name, int version = -1) const;
  const StreamerInfo* find_by_checksum(const std::string& name, uint32_t checksum) const;
  std::size_t size() const;
  std::vector<const StreamerInfo*> all() const;

 private:
  std::map<std::string, std::map<int, std::shared_ptr<StreamerInfo>>> by_name_;
};

// Converts the generic objects read from the file's streamer record into infos.
StreamerInfo streamer_info_from_object(const Object& info);

}  // namespace m4h::root
