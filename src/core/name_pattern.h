// Shell patterns for branch names ("Muon_*", "Jet_P[xy]"), as uproot's filter_name takes them.
#pragma once

#include <fnmatch.h>

#include <string>

namespace m4h {

// Whether `entry` is a pattern rather than a plain name.
inline bool is_name_pattern(const std::string& entry) { return entry.find_first_of("*?[") != std::string::npos; }

// `name` is `entry` itself, or matches it when `entry` is a pattern.
inline bool name_matches(const std::string& entry, const std::string& name) {
  return entry == name || (is_name_pattern(entry) && fnmatch(entry.c_str(), name.c_str(), 0) == 0);
}

}  // namespace m4h
