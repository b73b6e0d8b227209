// Placeholder until the expression language lands: an empty Preprocess only.
#include "data/preprocess.h"

#include "core/error.h"

namespace m4h::data {

struct Preprocess::Impl {};

void PreprocessReport::add(const PreprocessReport& other) {
  events_in += other.events_in;
  events_passed += other.events_passed;
  for (const auto& [name, n] : other.rejected_by) {
    bool found = false;
    for (auto& [mine, m] : rejected_by)
      if (mine == name) {
        m += n;
        found = true;
      }
    if (!found) rejected_by.emplace_back(name, n);
  }
}

Preprocess::Preprocess() = default;
Preprocess::~Preprocess() = default;
Preprocess::Preprocess(Preprocess&&) noexcept = default;
Preprocess& Preprocess::operator=(Preprocess&&) noexcept = default;

Preprocess Preprocess::parse(std::string_view, std::string_view origin) {
  throw Error(ErrorCode::kUnsupported, std::string(origin) + ": pre-processing is not built yet");
}
Preprocess Preprocess::from_file(const std::string& path) { return parse("", path); }
bool Preprocess::empty() const { return true; }
std::vector<std::string> Preprocess::input_branches() const { return {}; }
std::vector<std::string> Preprocess::new_branches() const { return {}; }
bool Preprocess::new_branch_is_jagged(std::string_view) const { return false; }
std::vector<std::string> Preprocess::removed_branches() const { return {}; }
std::string Preprocess::canonical() const { return ""; }
void Preprocess::apply(Table& table, PreprocessReport* report) const {
  if (report) {
    report->events_in += table.entries();
    report->events_passed += table.entries();
  }
}

}  // namespace m4h::data
