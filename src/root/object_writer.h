// Writes generic objects the way ObjectReader reads them: built-in classes with custom streamers
// by hand, everything else member by member following a streamer info. Keeps ROOT's maps of
// class tags and already-written objects (written again as references). One writer per buffer.
#pragma once

#include <string>
#include <unordered_map>

#include "root/object.h"
#include "root/sink.h"
#include "root/streamer.h"

namespace m4h::root {

class ObjectWriter {
 public:
  ObjectWriter(Sink& sink, const StreamerRegistry& registry) : s_(sink), registry_(registry) {}

  // The object inline: byte count, version, members (TArray*: size and values only).
  void write_object(const std::string& class_name, const Object& obj);
  // A pointer or collection item: null, a reference to an object already written, or a class
  // tag (new or known) followed by the object.
  void write_object_any(const ObjectPtr& obj);
  // A TStreamerInfo record describing `info`.
  void write_streamer_info(const StreamerInfo& info);

 private:
  void write_members(const std::string& class_name, const Object& obj);
  void write_tobject(const Object& obj);
  void write_element(const StreamerElement& el, const Object& obj);
  void write_basic(int type, const Value* v);
  void write_collection(const std::string& class_name, const Object& obj);
  void write_streamer_element(const StreamerElement& el);
  // A TNamed with default TObject fields.
  void write_named(const std::string& name, const std::string& title);
  void write_class_tag(const std::string& class_name);

  Sink& s_;
  const StreamerRegistry& registry_;
  std::unordered_map<std::string, uint32_t> class_tags_;
  std::unordered_map<const Object*, uint32_t> object_refs_;
};

}  // namespace m4h::root
