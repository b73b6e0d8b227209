// A generic, read-only view of a streamed ROOT object: its class, version, and named members
// (base-class members flattened in), plus items for collections. Used for metadata (TTree,
// TBranch, TLeaf, streamer infos), never for event data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace m4h::root {

struct Object;
using ObjectPtr = std::shared_ptr<Object>;

using Value = std::variant<std::monostate, int64_t, double, std::string, std::vector<int64_t>,
                           std::vector<double>, ObjectPtr>;

struct Object {
  std::string class_name;
  int version = 0;
  std::vector<std::pair<std::string, Value>> members;  // in streaming order
  std::vector<ObjectPtr> items;                        // TObjArray / TList / TClonesArray contents
  std::vector<uint8_t> payload;                        // raw bytes (embedded basket buffers)

  const Value* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  void set(std::string name, Value v);

  int64_t i64(std::string_view name, int64_t fallback = 0) const;
  double f64(std::string_view name, double fallback = 0) const;
  std::string str(std::string_view name) const;
  std::vector<int64_t> ints(std::string_view name) const;
  ObjectPtr obj(std::string_view name) const;
  // The items of a collection member (empty if absent or null).
  const std::vector<ObjectPtr>& list(std::string_view name) const;
};

}  // namespace m4h::root
