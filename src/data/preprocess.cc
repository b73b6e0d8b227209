// preproc.json as the reference MLaaS4HEP (branch uproot4, reader.py and utils.py) reads it:
//   "new_branch": {NAME: {"def": EXPR, "type": "flat"|"jagged", "cut"|"cut_N": CUT,
//                         "remove": BOOL, "keys_to_remove": [BRANCH, ...]}}
//   "flat_cut":   {BRANCH: {"cut"|"cut_N": EXPR, "remove": BOOL}}
//   "jagged_cut": {BRANCH: {"cut"|"cut_N": [EXPR, "all"|"any"], "remove": BOOL}}
// where a new branch's CUT is an EXPR (one value per event) or [EXPR, "all"|"any"], and BOOL is
// the reference's "True"/"False" strings or a JSON boolean. Differences from the reference,
// all where it fails or misreads: "remove" may be omitted (false); cut keys count wherever they
// stand in an entry (the reference stops at the first other key); ranges follow Python's
// chained comparisons (the reference turns "16>=x>=1" into x>16 and x>=1); any expression works
// in a jagged cut (the reference takes one "branch op number").
#include "data/preprocess.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "data/expression.h"

namespace m4h::data {

namespace {

using Json = nlohmann::ordered_json;

enum class CutMode { kFlat, kAll, kAny };

const char* mode_name(CutMode m) {
  return m == CutMode::kFlat ? "flat" : m == CutMode::kAll ? "all" : "any";
}

struct Cut {
  std::string name;  // where it is in the file: "flat_cut.nLeptons.cut"
  Expression expr;
  CutMode mode = CutMode::kFlat;
};

struct NewBranch {
  std::string name;
  Expression def;
  bool jagged = false;
};

Error invalid(const std::string& origin, const std::string& path, std::string message) {
  Error e(ErrorCode::kInvalidArgument, std::move(message));
  if (!path.empty()) e.add_context(path);
  e.add_context(origin);
  return e;
}

std::string json_kind(const Json& j) {
  if (j.is_string()) return "the string " + j.dump();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number()) return "the number " + j.dump();
  if (j.is_null()) return "null";
  if (j.is_array()) return "a list";
  return "an object";
}

// "cut", "cut_1", "cut_lead", "cut2": the reference takes any key that starts with "cut"; we
// refuse other spellings ("cuts", "cutoff") as the typos they likely are.
bool is_cut_key(const std::string& k) {
  if (k == "cut") return true;
  if (k.size() > 4 && k.compare(0, 4, "cut_") == 0) return true;
  return k.size() > 3 && k.compare(0, 3, "cut") == 0 &&
         std::all_of(k.begin() + 3, k.end(), [](char c) { return std::isdigit(uint8_t(c)); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

struct Preprocess::Impl {
  std::string origin;
  std::vector<NewBranch> branches;        // in computation order: a definition after what it uses
  std::vector<std::string> branch_names;  // file order
  std::vector<bool> branch_jagged;        // file order
  std::vector<Cut> cuts;                  // file order
  std::vector<std::string> removed;
  std::vector<std::string> inputs;
  std::string canonical;

  bool is_new(const std::string& name) const {
    return std::find(branch_names.begin(), branch_names.end(), name) != branch_names.end();
  }

  bool parse_bool(const Json& j, const std::string& path) const {
    if (j.is_boolean()) return j.get<bool>();
    if (j.is_string()) {
      const std::string s = lower(j.get<std::string>());
      if (s == "true") return true;
      if (s == "false") return false;
    }
    throw invalid(origin, path,
                  "expected \"True\" or \"False\" (or a JSON true/false), found " + json_kind(j));
  }

  Expression parse_expr(const Json& j, const std::string& path) const {
    if (!j.is_string())
      throw invalid(origin, path, "expected an expression in a string, found " + json_kind(j));
    try {
      return Expression::parse(j.get<std::string>());
    } catch (Error& e) {
      e.add_context(path);
      e.add_context(origin);
      throw;
    }
  }

  Cut parse_list_cut(const Json& j, const std::string& path) const {
    if (!j.is_array() || j.size() != 2 || !j[1].is_string())
      throw invalid(origin, path,
                    "expected [\"expression\", \"all\" or \"any\"], found " + json_kind(j));
    Cut c;
    c.name = path;
    c.expr = parse_expr(j[0], path);
    const std::string mode = lower(j[1].get<std::string>());
    if (mode == "all")
      c.mode = CutMode::kAll;
    else if (mode == "any")
      c.mode = CutMode::kAny;
    else
      throw invalid(origin, path, "expected \"all\" or \"any\", found " + j[1].dump());
    return c;
  }

  void add_removed(const std::string& name) {
    if (std::find(removed.begin(), removed.end(), name) == removed.end()) removed.push_back(name);
  }

  void parse_new_branches(const Json& section) {
    for (const auto& [name, entry] : section.items()) {
      const std::string path = "new_branch." + name;
      if (name.empty()) throw invalid(origin, "new_branch", "a new branch needs a name");
      if (!entry.is_object())
        throw invalid(origin, path,
                      "expected an object with \"def\" and \"type\", found " + json_kind(entry));
      if (!entry.contains("def")) throw invalid(origin, path, "missing \"def\"");
      if (!entry.contains("type"))
        throw invalid(origin, path, "missing \"type\" (\"flat\" or \"jagged\")");
      NewBranch b;
      b.name = name;
      for (const auto& [key, value] : entry.items()) {
        const std::string kpath = path + "." + key;
        if (key == "def") {
          b.def = parse_expr(value, kpath);
        } else if (key == "type") {
          const std::string t = value.is_string() ? value.get<std::string>() : "";
          if (t != "flat" && t != "jagged")
            throw invalid(origin, kpath,
                          "expected \"flat\" or \"jagged\", found " + json_kind(value));
          b.jagged = t == "jagged";
        } else if (is_cut_key(key)) {
          if (value.is_string()) {
            Cut c;
            c.name = kpath;
            c.expr = parse_expr(value, kpath);
            cuts.push_back(std::move(c));
          } else {
            cuts.push_back(parse_list_cut(value, kpath));
          }
        } else if (key == "remove") {
          if (parse_bool(value, kpath)) add_removed(name);
        } else if (key == "keys_to_remove") {
          if (!value.is_array())
            throw invalid(origin, kpath,
                          "expected a list of branch names, found " + json_kind(value));
          for (const Json& k : value) {
            if (!k.is_string())
              throw invalid(origin, kpath, "expected branch names, found " + json_kind(k));
            add_removed(k.get<std::string>());
          }
        } else {
          throw invalid(origin, kpath,
                        "unknown key (expected def, type, cut or cut_N, remove, "
                        "keys_to_remove)");
        }
      }
      branch_names.push_back(name);
      branch_jagged.push_back(b.jagged);
      branches.push_back(std::move(b));
    }
  }

  void parse_cuts(const Json& section, const std::string& kind) {
    const bool jagged = kind == "jagged_cut";
    for (const auto& [name, entry] : section.items()) {
      const std::string path = kind + "." + name;
      if (!entry.is_object())
        throw invalid(origin, path,
                      "expected an object with \"cut\" and \"remove\", found " + json_kind(entry));
      for (const auto& [key, value] : entry.items()) {
        const std::string kpath = path + "." + key;
        if (is_cut_key(key)) {
          if (jagged) {
            cuts.push_back(parse_list_cut(value, kpath));
          } else {
            Cut c;
            c.name = kpath;
            c.expr = parse_expr(value, kpath);
            cuts.push_back(std::move(c));
          }
        } else if (key == "remove") {
          if (parse_bool(value, kpath)) add_removed(name);
        } else {
          throw invalid(origin, kpath, "unknown key (expected cut or cut_N, remove)");
        }
      }
    }
  }

  // Orders the definitions so that each comes after the new branches it uses (uproot resolves
  // aliases in any order). A definition naming itself reads the file's branch of that name.
  void order_branches() {
    std::vector<NewBranch> sorted;
    std::vector<int> state(branches.size(), 0);  // 0 new, 1 in progress, 2 done
    auto index_of = [&](const std::string& name) {
      for (size_t i = 0; i < branches.size(); ++i)
        if (branches[i].name == name) return static_cast<int>(i);
      return -1;
    };
    std::vector<std::string> chain;
    auto visit = [&](auto&& self, size_t i) -> void {
      if (state[i] == 2) return;
      if (state[i] == 1) {
        std::string cycle;
        for (const auto& c : chain) cycle += c + " -> ";
        throw invalid(origin, "new_branch." + branches[i].name + ".def",
                      "new branches defined through each other: " + cycle + branches[i].name);
      }
      state[i] = 1;
      chain.push_back(branches[i].name);
      for (const std::string& used : branches[i].def.branches()) {
        const int j = index_of(used);
        if (j >= 0 && static_cast<size_t>(j) != i) self(self, j);
      }
      chain.pop_back();
      state[i] = 2;
      sorted.push_back(branches[i]);
    };
    for (size_t i = 0; i < branches.size(); ++i) visit(visit, i);
    branches = std::move(sorted);
  }

  void collect_inputs() {
    auto add = [&](const std::string& name) {
      if (std::find(inputs.begin(), inputs.end(), name) == inputs.end()) inputs.push_back(name);
    };
    for (const std::string& name : branch_names)
      for (const NewBranch& b : branches)
        if (b.name == name)
          for (const std::string& used : b.def.branches())
            if (used == b.name || !is_new(used)) add(used);
    for (const Cut& c : cuts)
      for (const std::string& used : c.expr.branches())
        if (!is_new(used)) add(used);
  }

  void make_canonical() {
    Json c = Json::object();
    Json defs = Json::array();
    for (size_t i = 0; i < branch_names.size(); ++i)
      for (const NewBranch& b : branches)
        if (b.name == branch_names[i])
          defs.push_back({b.name, b.def.canonical(), b.jagged ? "jagged" : "flat"});
    c["new_branch"] = std::move(defs);
    Json cs = Json::array();
    for (const Cut& cut : cuts) cs.push_back({cut.name, cut.expr.canonical(), mode_name(cut.mode)});
    c["cuts"] = std::move(cs);
    c["remove"] = removed;
    canonical = c.dump();
  }
};

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

Preprocess Preprocess::parse(std::string_view json_text, std::string_view origin) {
  auto impl = std::make_unique<Impl>();
  impl->origin = std::string(origin);
  Json doc;
  try {
    doc = Json::parse(json_text);
  } catch (const Json::exception& e) {
    throw invalid(impl->origin, "", std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object())
    throw invalid(
        impl->origin, "",
        "expected an object with new_branch, flat_cut, jagged_cut; found " + json_kind(doc));
  for (const auto& [key, section] : doc.items()) {
    if (key != "new_branch" && key != "flat_cut" && key != "jagged_cut")
      throw invalid(impl->origin, key, "unknown key (expected new_branch, flat_cut, jagged_cut)");
    if (!section.is_object())
      throw invalid(impl->origin, key,
                    "expected an object of branches, found " + json_kind(section));
    if (key == "new_branch")
      impl->parse_new_branches(section);
    else
      impl->parse_cuts(section, key);
  }
  impl->order_branches();
  impl->collect_inputs();
  impl->make_canonical();
  Preprocess p;
  p.impl_ = std::move(impl);
  return p;
}

Preprocess Preprocess::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open pre-processing file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

bool Preprocess::empty() const {
  return !impl_ || (impl_->branches.empty() && impl_->cuts.empty() && impl_->removed.empty());
}

std::vector<std::string> Preprocess::input_branches() const {
  return impl_ ? impl_->inputs : std::vector<std::string>{};
}

std::vector<std::string> Preprocess::new_branches() const {
  return impl_ ? impl_->branch_names : std::vector<std::string>{};
}

bool Preprocess::new_branch_is_jagged(std::string_view name) const {
  if (!impl_) return false;
  for (size_t i = 0; i < impl_->branch_names.size(); ++i)
    if (impl_->branch_names[i] == name) return impl_->branch_jagged[i];
  return false;
}

std::vector<std::string> Preprocess::removed_branches() const {
  return impl_ ? impl_->removed : std::vector<std::string>{};
}

std::string Preprocess::canonical() const { return impl_ ? impl_->canonical : ""; }

void Preprocess::apply(Table& table, PreprocessReport* report) const {
  const int64_t n = std::max<int64_t>(table.entries(), 0);
  if (!impl_) {
    if (report) {
      report->events_in += n;
      report->events_passed += n;
    }
    return;
  }
  const Impl& im = *impl_;
  auto in_context = [&](const std::string& path, auto&& fn) {
    try {
      return fn();
    } catch (Error& e) {
      e.add_context(path);
      e.add_context(im.origin);
      throw;
    }
  };

  for (const NewBranch& b : im.branches) {
    const std::string path = "new_branch." + b.name + ".def";
    Array a = in_context(path, [&] { return b.def.evaluate(table); });
    if (a.jagged() != b.jagged)
      throw invalid(im.origin, "new_branch." + b.name,
                    std::string("\"type\" is \"") + (b.jagged ? "jagged" : "flat") + "\" but '" +
                        b.def.text() + "' gives " +
                        (a.jagged() ? "a list per event" : "one value per event"));
    table.set(b.name, std::move(a));
  }
  // Definitions ran in dependency order; the table lists the new branches last, in file order,
  // so that the feature order does not depend on how definitions refer to each other.
  for (const std::string& name : im.branch_names) {
    Array a = std::move(table.at(name));
    table.remove(name);
    table.set(name, std::move(a));
  }

  // One pass per cut over its column; `keep` accumulates, so each cut's count is the events it
  // rejects among those the cuts before it kept (a cut flow: the counts add up).
  std::vector<uint8_t> keep(static_cast<size_t>(n), 1);
  std::vector<int64_t> rejected(im.cuts.size(), 0);
  int64_t kept = n;
  for (size_t c = 0; c < im.cuts.size(); ++c) {
    const Cut& cut = im.cuts[c];
    const int64_t r = in_context(cut.name, [&] {
      if (cut.mode == CutMode::kFlat && cut.expr.jagged_result(table))
        throw Error(ErrorCode::kInvalidArgument,
                    "'" + cut.expr.text() +
                        "' gives a list per event; a flat cut needs one value per event (put it "
                        "in jagged_cut as [\"expression\", \"all\" or \"any\"])");
      const auto pass = cut.mode == CutMode::kAll   ? Expression::Pass::kAll
                        : cut.mode == CutMode::kAny ? Expression::Pass::kAny
                                                    : Expression::Pass::kValue;
      return cut.expr.select(table, pass, keep);
    });
    rejected[c] = r;
    kept -= r;
  }
  if (kept < n) table.filter(std::vector<bool>(keep.begin(), keep.end()));
  for (const std::string& name : im.removed) table.remove(name);

  if (report) {
    PreprocessReport mine;
    mine.events_in = n;
    mine.events_passed = kept;
    for (size_t c = 0; c < im.cuts.size(); ++c)
      mine.rejected_by.emplace_back(im.cuts[c].name, rejected[c]);
    report->add(mine);
  }
}

}  // namespace m4h::data
