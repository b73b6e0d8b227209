#include "data/block_reader.h"

#include <algorithm>

#include "core/error.h"

namespace m4h::data {

namespace {

// Carried through Preprocess::apply so that we learn which entries passed its cuts.
constexpr const char* kEntryColumn = "__m4h_entry__";

}  // namespace

std::vector<BranchType> read_branch_types(const InputFile& file, const BranchPlan& plan) {
  std::vector<BranchType> out;
  for (const std::string& name : plan.read) {
    const root::BranchInfo* b = file.tree->find(name);
    if (!b) throw Error(ErrorCode::kNotFound, file.name + ": no branch '" + name + "'");
    const root::Interpretation in = root::interpret(*file.tree, *b);
    // An empty column of the branch's layout decides as convert() decides on a read one.
    const root::Column c = root::make_column(in);
    out.push_back(BranchType{name, viewable(c) ? view_of(c).type : ValueType::kF64,
                             classify(in) == BranchShape::kJagged});
  }
  return out;
}

BlockReader::BlockReader(const InputFile& file, const BranchPlan& plan, const Preprocess& preproc,
                         int64_t block_size, ThreadPool* pool, int64_t start, int64_t stop)
    : file_(file), plan_(plan), preproc_(preproc), features_(plan.features()) {
  const root::Tree& tree = *file.tree;
  jagged_.assign(features_.size(), false);
  std::fill(jagged_.begin() + static_cast<std::ptrdiff_t>(plan.fkeys.size()), jagged_.end(), true);
  for (const std::string& name : features_) {
    auto it = std::find(plan.read.begin(), plan.read.end(), name);
    read_index_.push_back(it == plan.read.end() ? -1 : static_cast<int>(it - plan.read.begin()));
    if (read_index_.back() < 0 && preproc.empty())
      throw Error(ErrorCode::kInternal, "feature '" + name + "' is neither read nor computed");
  }
  std::vector<root::BranchRequest> requests;
  for (const std::string& name : plan.read) {
    const root::BranchInfo* b = tree.find(name);
    if (!b)
      throw Error(ErrorCode::kNotFound, file.name + ": tree '" + tree.path() + "' has no branch '" +
                                            name + "' (the first file has it)" + tree.similar_names(name));
    root::Interpretation in = root::interpret(tree, *b);
    std::string why;
    if (classify(in, &why) == BranchShape::kUnusable)
      throw Error(ErrorCode::kUnsupported, file.name + ": branch '" + name + "': " + why);
    requests.push_back({b, std::move(in)});
  }
  const int64_t entries = tree.entries();
  start = std::clamp<int64_t>(start, 0, entries);
  stop = stop < 0 ? entries : std::clamp<int64_t>(stop, start, entries);
  chunks_ = std::make_unique<root::ChunkIterator>(tree, std::move(requests),
                                                  std::max<int64_t>(block_size, 1), start, stop, pool);
}

BlockReader::~BlockReader() = default;

std::shared_ptr<const Block> BlockReader::next() {
  std::vector<root::Column> columns;
  int64_t a = 0, z = 0;
  bool more = with_context(file_.name, [&] { return chunks_->next(a, z, columns); });
  if (!more) return nullptr;
  return convert(std::move(columns), a, z);
}

std::shared_ptr<const Block> BlockReader::convert(std::vector<root::Column> columns, int64_t a,
                                                  int64_t z) {
  auto block = std::make_shared<Block>();
  block->columns = std::move(columns);
  Block& b = *block;
  b.first_entry = a;
  b.raw_entries = z - a;
  b.features.resize(features_.size());

  if (preproc_.empty()) {
    b.events = b.raw_entries;
    report_.events_in += b.raw_entries;
    report_.events_passed += b.raw_entries;
    for (size_t k = 0; k < features_.size(); ++k) {
      const root::Column& c = b.columns[read_index_[k]];
      if (!viewable(c)) b.table.set(features_[k], with_context(file_.name, [&] { return to_array(c, features_[k]); }));
    }
    // Views after every set(): the table's arrays do not move once it is complete.
    for (size_t k = 0; k < features_.size(); ++k) {
      const root::Column& c = b.columns[read_index_[k]];
      b.features[k] = viewable(c) ? view_of(c) : view_of(b.table.at(features_[k]));
    }
  } else {
    with_context(file_.name, [&] {
      for (size_t r = 0; r < plan_.read.size(); ++r)
        b.table.set(plan_.read[r], to_array(b.columns[r], plan_.read[r]));
      std::vector<double> entry(b.raw_entries);
      for (int64_t i = 0; i < b.raw_entries; ++i) entry[i] = static_cast<double>(a + i);
      b.table.set(kEntryColumn, Array::flat(std::move(entry)));
      preproc_.apply(b.table, &report_);
    });
    b.columns.clear();  // everything needed now lives in the table
    b.events = b.table.entries();
    if (b.events != b.raw_entries) {
      const Array& e = b.table.at(kEntryColumn);
      b.entries.resize(b.events);
      for (int64_t i = 0; i < b.events; ++i) b.entries[i] = static_cast<int64_t>(e.values[i]);
    }
    b.table.remove(kEntryColumn);
    for (size_t k = 0; k < features_.size(); ++k)
      b.features[k] = view_of(with_context(file_.name, [&]() -> const Array& {
        return b.table.at(features_[k]);
      }));
  }
  for (size_t k = 0; k < features_.size(); ++k)
    if (b.features[k].jagged() != jagged_[k])
      throw Error(ErrorCode::kInvalidArgument,
                  file_.name + ": branch '" + features_[k] + "' is " +
                      (b.features[k].jagged() ? "jagged" : "flat") + " here but " +
                      (jagged_[k] ? "jagged" : "flat") + " in the first file");
  return block;
}

}  // namespace m4h::data
