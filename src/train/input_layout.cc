#include "train/input_layout.h"

#include "data/features.h"

namespace m4h::train {

InputLayout input_layout(const data::FeatureLayout& layout) {
  InputLayout out;
  out.width = layout.width;
  for (size_t k = 0; k < layout.fkeys.size(); ++k) out.flat_columns.push_back(layout.column[k]);
  for (size_t j = 0; j < layout.jkeys.size(); ++j) {
    const std::string& key = layout.jkeys[j];
    const int64_t objects = layout.jdim[j];
    if (objects < 1) continue;
    const auto us = key.find('_');
    // "_pt" (nothing before the '_') names no collection: the key stands alone.
    const std::string name = us == std::string::npos || us == 0 ? key : key.substr(0, us);
    ObjectGroup* group = nullptr;
    for (ObjectGroup& g : out.groups)
      if (g.name == name && g.objects == objects) group = &g;
    if (!group) {
      out.groups.push_back(ObjectGroup{name, {}, {}, objects});
      group = &out.groups.back();
    }
    group->attributes.push_back(key);
    group->first_column.push_back(layout.column[layout.fkeys.size() + j]);
  }
  // Same prefix, other lengths: several groups share a name; number them so that they differ.
  for (size_t a = 0; a < out.groups.size(); ++a) {
    int copies = 0;
    for (size_t b = a + 1; b < out.groups.size(); ++b)
      if (out.groups[b].name == out.groups[a].name)
        out.groups[b].name += "#" + std::to_string(++copies);
  }
  return out;
}

}  // namespace m4h::train
