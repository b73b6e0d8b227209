// Which columns of a model's input row are flat features and which form sets of objects (the
// jets, muons, ... of an event), for models that treat jagged collections as sets (deep sets).
// Plain C++, so that TrainerOptions can carry it without data or torch headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace m4h::data {
struct FeatureLayout;
}

namespace m4h::train {

// One collection of objects: jagged branches that describe the same objects, e.g. Jet_pt,
// Jet_eta, Jet_phi. Attribute a of object i sits in column first_column[a] + i (the data layer
// pads each jagged branch to `objects` consecutive columns).
struct ObjectGroup {
  std::string name;                     // "Jet"
  std::vector<std::string> attributes;  // the jagged keys, in the specs' order
  std::vector<int64_t> first_column;    // per attribute: the column of object 0
  int64_t objects = 0;                  // padded objects per event (the branches' jdim)
};

struct InputLayout {
  std::vector<int64_t> flat_columns;  // one column per flat feature
  std::vector<ObjectGroup> groups;    // jagged branches grouped into collections
  int64_t width = 0;
};

// Groups the layout's jagged keys into collections. Rule: keys with the same prefix before the
// first '_' (NanoAOD naming: Jet_pt, Jet_eta -> "Jet") and the same padded length are one
// collection; a key without '_' is a collection of its own. The length check keeps apart
// branches that only look related (their object i would not be the same object). Branches padded
// to length 0 (always empty) are left out. Thread-safe; throws nothing.
InputLayout input_layout(const data::FeatureLayout& layout);

}  // namespace m4h::train
