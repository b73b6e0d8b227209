// Reads streamed ROOT objects generically: built-in classes with custom streamers (TObject,
// TNamed, TObjArray, TList, TArray*, TObjString, TStreamerInfo and its elements, TBasket) by hand,
// everything else by following the file's streamer infos. Keeps ROOT's per-buffer maps of class
// tags and object references. Not thread-safe: one reader per buffer.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "root/cursor.h"
#include "root/object.h"
#include "root/streamer.h"

namespace m4h::root {

class ObjectReader {
 public:
  // `registry` may be null while the streamer record itself is being read.
  ObjectReader(Cursor& cursor, const StreamerRegistry* registry)
      : c_(cursor), registry_(registry) {}

  // An object of a known class streamed inline: header (byte count, version), then members.
  ObjectPtr read_object(const std::string& class_name);
  // A pointer member or collection item: class tag or reference, then the object (or null).
  ObjectPtr read_object_any();

 private:
  void read_members(const std::string& class_name, Object& into, const ObjectHeader& h);
  void read_tobject(Object& into);
  void read_tnamed(Object& into);
  void read_collection(const std::string& class_name, Object& into, const ObjectHeader& h);
  void read_streamer_element(const std::string& class_name, Object& into, const ObjectHeader& h);
  void read_streamer_info(Object& into, const ObjectHeader& h);
  void read_basket(Object& into);
  void read_by_streamer(const StreamerInfo& info, Object& into, const ObjectHeader& h);
  void read_element(const StreamerElement& el, Object& into);
  Value read_basic(int type, const StreamerElement* el);
  Value read_basic_array(int type, int64_t n, const StreamerElement* el);
  ObjectPtr read_tarray(const std::string& class_name);
  Value read_stl(const StreamerElement& el);

  Cursor& c_;
  const StreamerRegistry* registry_;
  std::unordered_map<int64_t, std::string> class_tags_;
  std::unordered_map<int64_t, ObjectPtr> object_refs_;
  int depth_ = 0;
};

}  // namespace m4h::root
