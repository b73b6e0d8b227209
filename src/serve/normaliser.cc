#include "serve/normaliser.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "core/error.h"
#include "data/column_view.h"
#include "data/table.h"

namespace m4h::serve {

namespace {

// Carried through Preprocess::apply to learn which events its cuts kept (as BlockReader does).
constexpr const char* kEventColumn = "__m4h_event__";

const std::vector<double>& values_of(const RawEvent& ev, const std::string& name, size_t event) {
  auto it = ev.find(name);
  if (it == ev.end())
    throw Error(ErrorCode::kInvalidArgument, "event " + std::to_string(event) + ": no branch '" + name + "'");
  return it->second;
}

Error not_flat(const std::string& name, size_t event, size_t got) {
  return Error(ErrorCode::kInvalidArgument, "event " + std::to_string(event) + ": branch '" + name +
                                                "' is flat: one value expected, got " + std::to_string(got));
}

// Raw values into a branch's own type. An integer branch takes exact integers in its range only:
// anything else cannot have come from the file, and casting it would be undefined.
template <typename T>
void put(const std::vector<double>& v, T* dst, const std::string& name, size_t event) {
  for (size_t j = 0; j < v.size(); ++j) {
    const double x = v[j];
    if constexpr (std::is_floating_point_v<T>) {
      dst[j] = static_cast<T>(x);
    } else {
      const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
      const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);  // exclusive, exact
      if (!(x >= lo && x < hi && x == std::trunc(x)))
        throw Error(ErrorCode::kInvalidArgument, "event " + std::to_string(event) + ": branch '" + name +
                                                     "' holds integers, got " + std::to_string(x));
      dst[j] = static_cast<T>(x);
    }
  }
}

// One feature's raw values in its own type; 8-byte words keep any type aligned.
struct TypedColumn {
  std::vector<uint64_t> words;
  std::vector<int64_t> offsets;
};

}  // namespace

Normaliser::Normaliser(const data::Specs& specs, const data::Params& params, data::Preprocess preproc,
                       std::vector<data::BranchType> types)
    : layout_(data::FeatureLayout::from_specs(specs, params)),
      preproc_(std::move(preproc)),
      features_(specs.features()) {
  // InputBatch's mask means "1 = a real value" whatever convention training's params chose (the
  // trainer flips a kPadded mask the same way before the model sees it).
  layout_.mask = data::MaskConvention::kValid;
  const size_t nf = layout_.fkeys.size();
  if (!types.empty()) {
    for (const auto& t : types) {
      branches_.push_back(t.name);
      branch_jagged_.push_back(t.jagged ? 1 : 0);
    }
  } else {
    const auto made = preproc_.new_branches();
    for (size_t k = 0; k < features_.size(); ++k)
      if (std::find(made.begin(), made.end(), features_[k]) == made.end()) {
        branches_.push_back(features_[k]);
        branch_jagged_.push_back(k >= nf ? 1 : 0);
      }
    for (const auto& b : preproc_.input_branches())
      if (std::find(branches_.begin(), branches_.end(), b) == branches_.end()) {
        branches_.push_back(b);
        branch_jagged_.push_back(-1);
      }
  }
  for (const auto& f : features_) {
    auto it = std::find_if(types.begin(), types.end(), [&](const auto& t) { return t.name == f; });
    feature_type_.push_back(it == types.end() ? data::ValueType::kF64 : it->type);
  }
}

InputBatch Normaliser::run(const std::vector<RawEvent>& events, std::vector<int64_t>* kept) const {
  if (kept) kept->clear();
  if (events.empty()) {
    InputBatch b;
    b.width = layout_.width;
    return b;
  }
  if (!preproc_.empty()) return run_preprocessed(events, kept);
  if (kept) {
    kept->resize(events.size());
    std::iota(kept->begin(), kept->end(), 0);
  }
  return run_plain(events);
}

// Without pre-processing, training viewed the reader's columns in their own types: so do we.
InputBatch Normaliser::run_plain(const std::vector<RawEvent>& events) const {
  const size_t nf = layout_.fkeys.size();
  const int64_t n = static_cast<int64_t>(events.size());
  std::vector<TypedColumn> cols(features_.size());
  std::vector<data::ColumnView> views(features_.size());
  for (size_t k = 0; k < features_.size(); ++k) {
    const std::string& name = features_[k];
    const bool jagged = k >= nf;
    TypedColumn& c = cols[k];
    if (jagged) {
      c.offsets.assign(static_cast<size_t>(n) + 1, 0);
      for (int64_t i = 0; i < n; ++i)
        c.offsets[i + 1] = c.offsets[i] + static_cast<int64_t>(values_of(events[i], name, i).size());
    }
    const int64_t total = jagged ? c.offsets.back() : n;
    data::visit_values(data::ColumnView{feature_type_[k]}, [&](const auto* tag) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(tag)>>;
      c.words.resize(static_cast<size_t>(total) * sizeof(T) / 8 + 1);
      T* dst = reinterpret_cast<T*>(c.words.data());
      for (int64_t i = 0; i < n; ++i) {
        const auto& v = values_of(events[i], name, i);
        if (!jagged && v.size() != 1) throw not_flat(name, i, v.size());
        put(v, dst + (jagged ? c.offsets[i] : i), name, i);
      }
    });
    views[k] = data::ColumnView{feature_type_[k], c.words.data(), jagged ? c.offsets.data() : nullptr, n};
  }
  return assemble(views, n);
}

// With pre-processing, training went through the float64 Table and Preprocess::apply: so do we.
InputBatch Normaliser::run_preprocessed(const std::vector<RawEvent>& events,
                                        std::vector<int64_t>* kept) const {
  const size_t n = events.size();
  data::Table t(static_cast<int64_t>(n));
  for (size_t b = 0; b < branches_.size(); ++b) {
    const std::string& name = branches_[b];
    bool jagged = branch_jagged_[b] == 1;
    if (branch_jagged_[b] < 0)
      for (size_t i = 0; i < n && !jagged; ++i) jagged = values_of(events[i], name, i).size() != 1;
    std::vector<double> values;
    std::vector<int64_t> offsets;
    if (jagged) offsets.push_back(0);
    for (size_t i = 0; i < n; ++i) {
      const auto& v = values_of(events[i], name, i);
      if (!jagged && v.size() != 1) throw not_flat(name, i, v.size());
      values.insert(values.end(), v.begin(), v.end());
      if (jagged) offsets.push_back(static_cast<int64_t>(values.size()));
    }
    t.set(name, jagged ? data::Array::lists(std::move(values), std::move(offsets))
                       : data::Array::flat(std::move(values)));
  }
  std::vector<double> index(n);
  std::iota(index.begin(), index.end(), 0.0);
  t.set(kEventColumn, data::Array::flat(std::move(index)));
  data::PreprocessReport report;
  preproc_.apply(t, &report);

  const data::Array& passed = t.at(kEventColumn);
  const int64_t rows = t.entries();
  if (rows < static_cast<int64_t>(n) && !kept) {
    size_t first = 0;
    while (first < static_cast<size_t>(rows) && passed.values[first] == static_cast<double>(first)) ++first;
    std::string cuts;
    for (const auto& [cut, count] : report.rejected_by)
      if (count > 0) cuts += (cuts.empty() ? "" : ", ") + cut + " (" + std::to_string(count) + ")";
    throw Error(ErrorCode::kInvalidArgument,
                "event " + std::to_string(first) + " does not pass the pre-processing's cuts (events rejected by: " +
                    cuts + ")");
  }
  if (kept)
    for (double v : passed.values) kept->push_back(static_cast<int64_t>(v));

  const size_t nf = layout_.fkeys.size();
  std::vector<data::ColumnView> views;
  for (size_t k = 0; k < features_.size(); ++k) {
    const data::Array& a = t.at(features_[k]);
    if (a.jagged() != (k >= nf))
      throw Error(ErrorCode::kInvalidArgument, "branch '" + features_[k] + "' is " +
                                                   (a.jagged() ? "jagged" : "flat") + " here but was " +
                                                   (k >= nf ? "jagged" : "flat") + " in training");
    views.push_back(data::view_of(a));
  }
  return assemble(views, rows);
}

InputBatch Normaliser::assemble(const std::vector<data::ColumnView>& views, int64_t rows) const {
  InputBatch out;
  out.rows = rows;
  out.width = layout_.width;
  out.x.resize(static_cast<size_t>(rows * layout_.width));
  out.mask.resize(out.x.size());
  std::vector<int64_t> dest(static_cast<size_t>(rows));
  std::iota(dest.begin(), dest.end(), 0);
  data::AssemblyReport report;
  report.resize(layout_);
  data::assemble(layout_, views, 0, rows, dest.data(), out.x.data(), out.mask.data(), report);
  return out;
}

}  // namespace m4h::serve
