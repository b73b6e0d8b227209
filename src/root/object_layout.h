// Objects stored whole in a branch (TVector2, TVector3, TLorentzVector, a std::vector of them or
// std::map of numbers, or such a member of a split collection): when the class streams as a fixed number of bytes (basic
// members, TObject and other fixed bases, embedded objects of such classes), each numeric member
// becomes a branch of its own, named as ROOT names split members ("MET.fX", "jetp4.fP.fX"), read
// from the parent's baskets. Nothing else about an object needs interpreting to make features.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "root/streamer.h"
#include "root/tree.h"

namespace m4h::root {

// One numeric member of an object's stream.
struct StreamedMember {
  std::string name;                  // "fX", "fP.fX" (embedded objects joined with '.')
  int64_t offset = 0;                // bytes from the start of the object's stream
  int64_t memberwise_offset = 0;     // bytes of one object's members before it, when member-wise
  int64_t foreign_offset = 0;        // its offset when headers carry checksums (StreamedLayout)
  const StreamerElement* element = nullptr;  // its basic-type element (type code 1..19)
};

// The stream of one object: byte count + version (6 bytes), then its bases and members.
struct StreamedLayout {
  std::string class_name;
  int version = 0;     // the class version every object of the branch must carry
  int64_t size = 0;    // bytes of one object, its byte count and version included
  std::vector<StreamedMember> members;
  // A collection may stream its objects member-wise: each member for every object in turn, with
  // no headers, bases flattened. That layout is known when the class has no TObject base and no
  // embedded objects; memberwise_size is then the bytes of one object's members.
  bool memberwise = true;
  int64_t memberwise_size = 0;
  bool bases = false;  // it has base classes (TObject included)
  // ROOT writes a class without a ClassDef ("foreign": xAOD's ElementLink, most std templates)
  // whose version is 0 or 1 as version 0 followed by the class's checksum. An object written so
  // is `foreign_size` bytes, its members at their foreign_offset; 0: the class is not written so.
  int64_t foreign_size = 0;
  uint32_t checksum = 0;
};

// The layout of `class_name` (at `version`, or the highest known when -1) when every object of
// it streams as the same number of bytes; nullopt when a member has a variable size (strings,
// pointers, containers, arrays) or the streamer info is missing.
std::optional<StreamedLayout> fixed_stream_layout(const StreamerRegistry& reg, const std::string& class_name,
                                                  int version = -1);

// What an object branch's member branch reads (BranchInfo::object_member).
struct ObjectMember {
  enum class Per { kEntry, kBare, kVector, kVectorOfVectors, kRun, kMapPart };
  // kEntry: one object per entry; kBare: one per entry, its members alone (no byte count, version
  // or bases: the top of an xAOD object branch); kVector: a std::vector of them (byte count,
  // version, count; or a std::map's pairs); kVectorOfVectors: a std::vector of std::vectors of
  // them (the outer one's byte count, version and count; each inner one's count and objects);
  // kRun: the objects of a split collection's member, back to back (count from the entry's size);
  // kMapPart: the keys ("first") or values ("second") of a std::map whose keys or values vary in
  // size (strings, containers), streamed member-wise: `member.element` is the pair's element and
  // `first` the keys' one (root/interpretation.cc makes the part a nested branch of its type).
  Per per = Per::kEntry;
  std::shared_ptr<const StreamedLayout> layout;  // the class's, shared by its member branches
  StreamedMember member;
  const StreamerElement* first = nullptr;  // kMapPart: the pair's keys
};

// Adds one child branch per numeric member to each branch of `branches` (recursively) that
// holds fixed-size objects whole and has no children of its own.
void add_object_members(std::vector<std::unique_ptr<BranchInfo>>& branches, const StreamerRegistry& reg);

}  // namespace m4h::root
