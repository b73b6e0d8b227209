#include "root/object.h"

#include <cmath>

namespace m4h::root {

const Value* Object::find(std::string_view name) const {
  for (const auto& [n, v] : members)
    if (n == name) return &v;
  return nullptr;
}

void Object::set(std::string name, Value v) {
  for (auto& [n, old] : members) {
    if (n == name) {
      old = std::move(v);
      return;
    }
  }
  members.emplace_back(std::move(name), std::move(v));
}

int64_t Object::i64(std::string_view name, int64_t fallback) const {
  const Value* v = find(name);
  if (!v) return fallback;
  if (auto p = std::get_if<int64_t>(v)) return *p;
  if (auto p = std::get_if<double>(v)) return static_cast<int64_t>(*p);
  return fallback;
}

double Object::f64(std::string_view name, double fallback) const {
  const Value* v = find(name);
  if (!v) return fallback;
  if (auto p = std::get_if<double>(v)) return *p;
  if (auto p = std::get_if<int64_t>(v)) return static_cast<double>(*p);
  return fallback;
}

std::string Object::str(std::string_view name) const {
  const Value* v = find(name);
  if (v)
    if (auto p = std::get_if<std::string>(v)) return *p;
  return {};
}

std::vector<int64_t> Object::ints(std::string_view name) const {
  const Value* v = find(name);
  if (v) {
    if (auto p = std::get_if<std::vector<int64_t>>(v)) return *p;
    if (auto p = std::get_if<std::vector<double>>(v)) {
      std::vector<int64_t> out;
      for (double d : *p) out.push_back(static_cast<int64_t>(d));
      return out;
    }
  }
  return {};
}

ObjectPtr Object::obj(std::string_view name) const {
  const Value* v = find(name);
  if (v)
    if (auto p = std::get_if<ObjectPtr>(v)) return *p;
  return nullptr;
}

const std::vector<ObjectPtr>& Object::list(std::string_view name) const {
  static const std::vector<ObjectPtr> kEmpty;
  auto o = obj(name);
  return o ? o->items : kEmpty;
}

}  // namespace m4h::root
