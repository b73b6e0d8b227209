// A TTree's metadata as plain data: branches (nested for split objects), their leaves, and where
// each basket lives (in its own key, or embedded in the tree record). Immutable after load().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "root/file.h"
#include "root/object.h"
#include "root/streamer.h"

namespace m4h::root {

struct LeafInfo {
  std::string class_name;  // TLeafF, TLeafElement, ...
  std::string name;
  std::string title;  // "x[3][2]", "Jet_pt[nJet]", "d[-2.71,10,32]"
  int len = 1;        // values per entry for fixed arrays (product of dimensions)
  int len_type = 0;   // bytes per value
  bool is_unsigned = false;
  std::string count_leaf;  // name of the counter leaf for variable arrays, else ""
  int element_type = -1;   // TLeafElement fType
  std::vector<int> dims;   // fixed dimensions from the title, e.g. {3, 2}
};

struct BasketRef {
  int64_t first_entry = 0;
  int64_t entries = 0;
  int64_t seek = 0;     // 0 when embedded
  int32_t bytes = 0;    // stored size including the key
  ObjectPtr embedded;   // a TBasket written inside the tree record
};

struct ObjectMember;  // root/object_layout.h

struct BranchInfo {
  std::string name;
  std::string title;
  std::string class_name;  // TBranch, TBranchElement, TBranchObject, ...
  std::string path;        // names of the parents and this branch joined with '/'
  const BranchInfo* parent = nullptr;
  std::vector<std::unique_ptr<BranchInfo>> children;
  std::vector<LeafInfo> leaves;

  int64_t entries = 0;
  int64_t tot_bytes = 0;  // uncompressed, including keys
  int64_t zip_bytes = 0;
  int entry_offset_len = 0;
  std::vector<BasketRef> baskets;

  // TBranchElement only.
  bool is_element = false;
  std::string element_class;  // fClassName
  int element_id = -1;        // fID
  int element_type = 0;       // fType: 0 member, 1/2 object, 3/4 collection count, 31/41 members
  int streamer_type = -1;     // fStreamerType
  int class_version = -1;
  std::string clones_name;                  // fClonesName: class in a TClonesArray / collection
  std::string count_branch;                 // fBranchCount's name
  const StreamerElement* element = nullptr;  // the member this branch holds, when known

  // Set on a member of objects stored whole ("MET.fX" of a TVector2 branch "MET"): a branch the
  // reader adds, reading its parent's baskets (root/object_layout.h). Its byte counts are 0.
  std::shared_ptr<const ObjectMember> object_member;

  int64_t uncompressed_bytes() const;  // sum over baskets of their payloads
  int64_t compressed_bytes() const;
};

class Tree {
 public:
  // Reads the TTree (or TNtuple/TNtupleD) stored under `path`. Throws kNotFound/kCorrupt.
  static std::shared_ptr<Tree> load(std::shared_ptr<File> file, std::string_view path);

  const std::string& name() const { return name_; }
  const std::string& title() const { return title_; }
  const std::string& path() const { return path_; }
  const std::string& class_name() const { return class_name_; }
  int64_t entries() const { return entries_; }
  const File& file() const { return *file_; }
  std::shared_ptr<File> file_ptr() const { return file_; }

  const std::vector<std::unique_ptr<BranchInfo>>& branches() const { return branches_; }
  // Every branch, depth-first, parents before children.
  const std::vector<const BranchInfo*>& all_branches() const { return all_; }
  // By own name ("AK4Puppi.pt") or path ("AK4Puppi/AK4Puppi.pt"); nullptr if none.
  const BranchInfo* find(std::string_view name) const;
  // "; did you mean 'A' or 'B'?" naming branches whose names are close to `name`
  // (m4h::did_you_mean), or "" when none is.
  std::string similar_names(std::string_view name) const;
  // The branch that holds the counter leaf `leaf_name` (for variable arrays).
  const BranchInfo* branch_of_leaf(std::string_view leaf_name, const BranchInfo* near) const;

 private:
  std::shared_ptr<File> file_;
  std::string name_, title_, path_, class_name_;
  int64_t entries_ = 0;
  std::vector<std::unique_ptr<BranchInfo>> branches_;
  std::vector<const BranchInfo*> all_;
};

// The fixed dimensions a leaf title declares: "x[3][2]/F" -> {3, 2}; variable ones ("x[n]") and
// Double32 ranges are skipped. A dimension past int's range comes back as -1 (the
// interpretation reports the leaf's shape as corrupt).
std::vector<int> dims_from_title(const std::string& title);

// Names of the TTree-like objects in a file (recursively), for "FILE" without ":TREE".
std::vector<std::string> tree_paths(const File& file);

}  // namespace m4h::root
