// Reading real ROOT files (scikit-hep-testdata, see shared/testdata/root/MANIFEST.md) through the
// library API and checking the values. Every expected value below comes from an independent
// source: the jsroot-based oracle (tools/oracle/dump.mjs, output pasted verbatim into the k*
// constants), facts documented in MANIFEST.md, or well-known uproot test values; never from this
// project's own output. Cross-file checks (codecs, ROOT versions, offsets/no offsets) compare the
// library with itself on files that hold the same data.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/error.h"
#include "root/branch_reader.h"
#include "root/column.h"
#include "root/file.h"
#include "root/interpretation.h"
#include "root/tree.h"
#include "support/testdata.h"

namespace m4h::root {
namespace {

// ---------------------------------------------------------------------------------------------
// A small JSON reader for the oracle's output (numbers keep their text so that 64-bit integers
// and float32 values can be compared exactly).

struct JValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  std::string text;  // number text, or the decoded string
  std::vector<JValue> items;
  std::vector<std::pair<std::string, JValue>> members;

  const JValue& at(std::string_view name) const {
    for (const auto& [k, v] : members)
      if (k == name) return v;
    static const JValue null;
    ADD_FAILURE() << "JSON member '" << name << "' missing";
    return null;
  }
  int64_t as_int() const { return std::strtoll(text.c_str(), nullptr, 10); }
};

class JParser {
 public:
  explicit JParser(std::string_view s) : s_(s) {}
  JValue parse() {
    JValue v = value();
    ws();
    if (p_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("bad test JSON at " + std::to_string(p_) + ": " + what);
  }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
  }
  char peek() {
    ws();
    if (p_ >= s_.size()) fail("unexpected end");
    return s_[p_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected ") + c);
    ++p_;
  }
  std::string string_lit() {
    expect('"');
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = s_[p_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned cp = std::stoul(std::string(s_.substr(p_, 4)), nullptr, 16);
          p_ += 4;
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: out += e;
      }
    }
    expect('"');
    return out;
  }
  JValue value() {
    JValue v;
    char c = peek();
    if (c == '[') {
      ++p_;
      v.kind = JValue::kArray;
      if (peek() == ']') {
        ++p_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '{') {
      ++p_;
      v.kind = JValue::kObject;
      if (peek() == '}') {
        ++p_;
        return v;
      }
      for (;;) {
        std::string k = string_lit();
        expect(':');
        v.members.emplace_back(std::move(k), value());
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '"') {
      v.kind = JValue::kString;
      v.text = string_lit();
      return v;
    }
    if (s_.substr(p_, 4) == "true" || s_.substr(p_, 5) == "false") {
      v.kind = JValue::kBool;
      v.b = s_[p_] == 't';
      p_ += v.b ? 4 : 5;
      return v;
    }
    if (s_.substr(p_, 4) == "null") {
      p_ += 4;
      return v;
    }
    std::size_t q = p_;
    while (q < s_.size() && std::string_view("+-.0123456789eE").find(s_[q]) != std::string_view::npos) ++q;
    if (q == p_) fail("unexpected character");
    v.kind = JValue::kNumber;
    v.text = std::string(s_.substr(p_, q - p_));
    p_ = q;
    return v;
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

JValue parse_json(std::string_view s) { return JParser(s).parse(); }

// ---------------------------------------------------------------------------------------------
// One entry of a column as a tree of cells, built from values/offsets/shape only (independent of
// the project's JSON formatter).

struct Cell {
  enum Kind { kList, kString, kBool, kInt, kUInt, kF32, kF64 } kind = kList;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string s;
  std::vector<Cell> items;
};

Cell scalar_cell(const Column& c, int64_t idx) {
  Cell x;
  switch (c.dtype) {
    case DType::kBool: x.kind = Cell::kBool; x.i = c.value<uint8_t>(idx); break;
    case DType::kInt8: x.kind = Cell::kInt; x.i = c.value<int8_t>(idx); break;
    case DType::kUInt8: x.kind = Cell::kUInt; x.u = c.value<uint8_t>(idx); break;
    case DType::kChar: x.kind = Cell::kInt; x.i = c.value<char>(idx); break;
    case DType::kInt16: x.kind = Cell::kInt; x.i = c.value<int16_t>(idx); break;
    case DType::kUInt16: x.kind = Cell::kUInt; x.u = c.value<uint16_t>(idx); break;
    case DType::kInt32: x.kind = Cell::kInt; x.i = c.value<int32_t>(idx); break;
    case DType::kUInt32: x.kind = Cell::kUInt; x.u = c.value<uint32_t>(idx); break;
    case DType::kInt64: x.kind = Cell::kInt; x.i = c.value<int64_t>(idx); break;
    case DType::kUInt64: x.kind = Cell::kUInt; x.u = c.value<uint64_t>(idx); break;
    case DType::kFloat32: x.kind = Cell::kF32; x.d = c.value<float>(idx); break;
    case DType::kFloat64: x.kind = Cell::kF64; x.d = c.value<double>(idx); break;
  }
  return x;
}

Cell dims_cell(const Column& c, std::size_t dim, int64_t base) {
  if (dim == c.shape.size()) return scalar_cell(c, base);
  int64_t stride = 1;
  for (std::size_t k = dim + 1; k < c.shape.size(); ++k) stride *= c.shape[k];
  Cell list;
  for (int k = 0; k < c.shape[dim]; ++k) list.items.push_back(dims_cell(c, dim + 1, base + k * stride));
  return list;
}

Cell level_cell(const Column& c, std::size_t level, int64_t i) {
  const std::size_t levels = c.offsets.size();
  if (c.dtype == DType::kChar && level + 1 == levels) {
    const auto& off = c.offsets[level];
    Cell x;
    x.kind = Cell::kString;
    x.s.assign(reinterpret_cast<const char*>(c.values.data()) + off[i], off[i + 1] - off[i]);
    return x;
  }
  if (level == levels) return dims_cell(c, 0, i * c.items_per_value());
  Cell list;
  for (int64_t j = c.offsets[level][i]; j < c.offsets[level][i + 1]; ++j)
    list.items.push_back(level_cell(c, level + 1, j));
  return list;
}

Cell entry_cell(const Column& c, int64_t entry) { return level_cell(c, 0, entry); }

std::string show(const Cell& x) {
  switch (x.kind) {
    case Cell::kList: {
      std::string s = "[";
      for (std::size_t k = 0; k < x.items.size(); ++k) s += (k ? "," : "") + show(x.items[k]);
      return s + "]";
    }
    case Cell::kString: return "\"" + x.s + "\"";
    case Cell::kBool: return x.i ? "true" : "false";
    case Cell::kInt: return std::to_string(x.i);
    case Cell::kUInt: return std::to_string(x.u);
    case Cell::kF32: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(x.d));
      return std::string(buf, r.ptr);
    }
    case Cell::kF64: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, x.d);
      return std::string(buf, r.ptr);
    }
  }
  return "?";
}

// Empty when `got` matches `want`. Integers and float32 compare exactly (the oracle prints float32
// values in their shortest form); float64 within `rel` (0: exactly).
std::string mismatch(const JValue& want, const Cell& got, double rel) {
  auto bad = [&](const std::string& why) { return why + ": got " + show(got); };
  switch (got.kind) {
    case Cell::kList: {
      if (want.kind != JValue::kArray) return bad("expected a scalar");
      if (want.items.size() != got.items.size())
        return bad("expected " + std::to_string(want.items.size()) + " items");
      for (std::size_t k = 0; k < got.items.size(); ++k) {
        std::string m = mismatch(want.items[k], got.items[k], rel);
        if (!m.empty()) return "[" + std::to_string(k) + "] " + m;
      }
      return {};
    }
    case Cell::kString:
      if (want.kind != JValue::kString || want.text != got.s) return bad("expected \"" + want.text + "\"");
      return {};
    case Cell::kBool: {
      bool w = want.kind == JValue::kBool ? want.b : want.text != "0";
      if ((want.kind != JValue::kBool && want.kind != JValue::kNumber) || w != (got.i != 0))
        return bad("expected " + std::string(w ? "true" : "false"));
      return {};
    }
    case Cell::kInt:
    case Cell::kUInt: {
      if (want.kind != JValue::kNumber) return bad("expected a number");
      bool ok;
      if (got.kind == Cell::kInt) {
        int64_t w = 0;
        auto r = std::from_chars(want.text.data(), want.text.data() + want.text.size(), w);
        ok = r.ec == std::errc() && r.ptr == want.text.data() + want.text.size() && w == got.i;
      } else {
        uint64_t w = 0;
        auto r = std::from_chars(want.text.data(), want.text.data() + want.text.size(), w);
        ok = r.ec == std::errc() && r.ptr == want.text.data() + want.text.size() && w == got.u;
      }
      return ok ? std::string() : bad("expected " + want.text);
    }
    case Cell::kF32: {
      if (want.kind != JValue::kNumber) return bad("expected a number");
      float w = 0;
      std::from_chars(want.text.data(), want.text.data() + want.text.size(), w);
      return w == static_cast<float>(got.d) ? std::string() : bad("expected " + want.text);
    }
    case Cell::kF64: {
      if (want.kind != JValue::kNumber) return bad("expected a number");
      double w = 0;
      std::from_chars(want.text.data(), want.text.data() + want.text.size(), w);
      bool ok = rel == 0 ? w == got.d : std::fabs(w - got.d) <= rel * std::max(1.0, std::fabs(w));
      return ok ? std::string() : bad("expected " + want.text);
    }
  }
  return "?";
}

// Checks every branch of an oracle dump ({"tree", "entries", "start", "stop", "branches"}).
void expect_oracle(const Tree& tree, std::string_view json, double rel = 0) {
  JValue j = parse_json(json);
  const int64_t start = j.at("start").as_int(), stop = j.at("stop").as_int();
  EXPECT_EQ(tree.entries(), j.at("entries").as_int());
  const JValue& branches = j.at("branches");
  ASSERT_FALSE(branches.members.empty());
  for (const auto& [name, want] : branches.members) {
    const BranchInfo* b = tree.find(name);
    if (!b) {
      ADD_FAILURE() << tree.path() << ": branch '" << name << "' not found";
      continue;
    }
    Column col;
    try {
      col = read_branch(tree, *b, start, stop);
    } catch (const std::exception& e) {
      ADD_FAILURE() << tree.path() << ": branch '" << name << "': " << e.what();
      continue;
    }
    ASSERT_EQ(col.entries, stop - start) << name;
    ASSERT_EQ(static_cast<int64_t>(want.items.size()), stop - start) << name;
    for (int64_t i = 0; i < col.entries; ++i) {
      std::string m = mismatch(want.items[i], entry_cell(col, i), rel);
      EXPECT_TRUE(m.empty()) << tree.path() << ": branch '" << name << "' entry " << start + i << ": " << m;
    }
  }
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<File> open_data(const std::string& name) { return File::open(test::testdata_file(name)); }

std::shared_ptr<Tree> load(const std::string& file, std::string_view tree) {
  return Tree::load(open_data(file), tree);
}

Column read_all(const Tree& t, std::string_view branch) {
  const BranchInfo* b = t.find(branch);
  if (!b) throw std::runtime_error("no branch " + std::string(branch) + " in " + t.path());
  return read_branch(t, *b, 0, t.entries());
}

// Every branch that holds values, read whole, by path.
std::map<std::string, Column> read_every_branch(const Tree& t) {
  std::map<std::string, Column> out;
  for (const BranchInfo* b : t.all_branches()) {
    Interpretation in = interpret(t, *b);
    if (!in.supported()) continue;
    out.emplace(b->path, read_branch(t, *b, 0, t.entries()));
  }
  return out;
}

template <typename T>
std::vector<T> values_of(const Column& c) {
  std::vector<T> v(static_cast<std::size_t>(c.values.size() / sizeof(T)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = c.value<T>(static_cast<int64_t>(i));
  return v;
}

std::string string_at(const Column& c, int64_t i) {
  const auto& off = c.offsets.back();
  return std::string(reinterpret_cast<const char*>(c.values.data()) + off[i], off[i + 1] - off[i]);
}

template <typename Fn>
Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an m4h::Error";
  return Error(ErrorCode::kInternal, "no error thrown");
}

// ---------------------------------------------------------------------------------------------
// Oracle dumps (node tools/oracle/dump.mjs FILE TREE [-b ...] [--start] [--stop], verbatim).

constexpr std::string_view kHzzHead = R"json({"tree": "events", "entries": 2421, "start": 0, "stop": 10, "branches": {"NJet": [0, 1, 0, 3, 2, 2, 1, 1, 0, 1],
"Jet_Px": [[], [-38.874714], [], [-71.69521,36.60637,-28.866419], [3.8801618,4.97958], [-46.327522,27.738111], [-82.065735], [27.91956], [], [37.88576]],
"Jet_Py": [[], [19.863453], [], [93.57158,21.838793,9.320708], [-75.234055,-39.23173], [27.258848,-14.541778], [47.651886], [-32.921207], [], [-8.892708]],
"Jet_E": [[], [44.137363], [], [230.34601,101.35884,60.08414], [367.58548,79.24227], [74.44283,32.552982], [279.4213], [235.1074], [], [79.85138]],
"Jet_ID": [[], [true], [], [true,true,true], [true,true], [true,true], [true], [true], [], [true]],
"Jet_btag": [[], [-1], [], [-1,-1,-1], [-1,-1], [-1,-1], [-1], [-1], [], [-1]],
"NMuon": [2, 1, 2, 2, 2, 2, 2, 1, 2, 2],
"Muon_Px": [[-52.899456,37.73778], [-0.81645936], [48.98783,0.8275667], [22.088331,76.69192], [45.17132,39.750957], [9.22811,-5.793715], [12.538717,29.54184], [34.88376], [-53.166973,11.49187], [-67.014854,-18.118755]],
"Muon_Py": [[-11.654672,0.6934736], [-24.404259], [-21.723139,29.800508], [-85.835464,-13.956494], [67.24879,25.403667], [40.55438,-30.295189], [-42.54871,-4.4455166], [-15.982724], [92.02971,-4.4173865], [53.159172,-35.106167]],
"Muon_Pz": [[-8.160793,-11.307582], [20.199968], [11.168285,36.96519], [403.84845,335.0942], [-89.69573,20.115053], [-14.642164,42.954376], [-124.44899,-26.356554], [155.53117], [35.638836,-17.473787], [54.41294,58.036896]],
"Muon_E": [[54.7795,39.401695], [31.690445], [54.739788,47.488857], [413.46002,344.04153], [120.86432,51.28461], [44.093307,52.881523], [132.11803,39.839203], [160.19452], [112.09965,21.375706], [101.37883,70.207016]],
"Muon_Charge": [[1,-1], [1], [1,-1], [-1,1], [-1,1], [1,-1], [-1,-1], [1], [-1,1], [1,-1]],
"Muon_Iso": [[4.2001534,2.1510613], [2.1880474], [1.4128217,3.3835042], [2.7284882,0.5522966], [0,0.8563976], [0,1.4929442], [0.6231756,0], [2.4025257], [0,0], [0,1.7698176]],
"NElectron": [0, 0, 0, 0, 2, 0, 0, 0, 0, 0],
"Electron_Px": [[], [], [], [], [-82.59222,4.1628256], [], [], [], [], []],
"Electron_Charge": [[], [], [], [], [-1,1], [], [], [], [], []],
"NPhoton": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
"Photon_E": [[], [], [], [], [425.84723], [], [], [], [], []],
"MET_px": [5.912771, 24.765203, -25.785088, 8.619896, 5.393139, -3.7594752, 23.962149, -57.533348, 42.416195, -1.9144695],
"MET_py": [2.5636332, -16.34911, 16.237131, -22.786547, -1.3100524, -19.41702, -9.049156, -20.487679, -94.35086, -23.963034],
"MCleptonPDGid": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
"NPrimaryVertices": [6, 18, 16, 8, 2, 6, 11, 4, 4, 7],
"triggerIsoMu24": [true, true, true, true, true, true, true, true, true, true],
"EventWeight": [0.009271009, 0.00033064446, 0.0050796284, 0.0070810704, 0.00853577, 0.00882933, 0.006079216, 0.00882933, 0.009444976, 0.009271009]}})json";
constexpr std::string_view kHzzTail = R"json({"tree": "events", "entries": 2421, "start": 2418, "stop": 2421, "branches": {"NJet": [1, 2, 0],
"Jet_Px": [[-3.7148185], [-36.361286,-15.256871], []],
"NMuon": [1, 1, 1],
"Muon_Px": [[-29.756786], [1.1418698], [23.913206]],
"Muon_Charge": [[-1], [-1], [-1]],
"MET_px": [18.101646, 79.87519, 19.713749],
"triggerIsoMu24": [true, true, true],
"EventWeight": [0.004153073, 0.00882933, 0.008755414]}})json";
constexpr std::string_view kZmumuHead = R"json({"tree": "events", "entries": 2304, "start": 0, "stop": 3, "branches": {"Type": ["GT", "TT", "GT"],
"Run": [148031, 148031, 148031],
"Event": [10507008, 10507008, 10507008],
"E1": [82.2018663875, 62.3449289481, 62.3449289481],
"px1": [-41.1952876442, 35.1180497674, 35.1180497674],
"py1": [17.4332438965, -16.5703623299, -16.5703623299],
"pz1": [-68.9649618071, -48.7752465359, -48.7752465359],
"pt1": [44.7322, 38.8311, 38.8311],
"eta1": [-1.21769, -1.05139, -1.05139],
"phi1": [2.74126, -0.440873, -0.440873],
"Q1": [1, -1, -1],
"E2": [60.6218745939, 82.2018663875, 81.5827783316],
"px2": [34.1444372454, -41.1952876442, -40.8833234379],
"py2": [-16.1195245722, 17.4332438965, 17.2992970366],
"pz2": [-47.4269843902, -68.9649618071, -68.447255192],
"pt2": [38.8311, 44.7322, 44.7322],
"eta2": [-1.05139, -1.21769, -1.21769],
"phi2": [-0.440873, 2.74126, 2.74126],
"Q2": [-1, 1, 1],
"M": [82.4626915551, 83.6262040052, 83.3084646667]}})json";
constexpr std::string_view kZmumuTail = R"json({"tree": "events", "entries": 2304, "start": 2302, "stop": 2304, "branches": {"Type": ["GT", "GG"],
"Run": [148029, 148029],
"Event": [99991333, 99991333],
"E1": [81.2701355756, 81.5662173543],
"px1": [32.3774919639, 32.4853938749],
"py1": [1.19940577654, 1.20135030495],
"pz1": [-74.5324306104, -74.8083724729],
"pt1": [32.3997, 32.3997],
"eta1": [-1.57044, -1.57044],
"phi1": [0.0370275, 0.0370275],
"Q1": [1, 1],
"E2": [170.583132426, 170.583132426],
"px2": [-68.7941360412, -68.7941360412],
"py2": [-26.3984004322, -26.3984004322],
"pz2": [-153.847603834, -153.847603834],
"pt2": [72.8781, 72.8781],
"eta2": [-1.4827, -1.4827],
"phi2": [-2.77524, -2.77524],
"Q2": [-1, -1],
"M": [96.4959438144, 96.6567276544]}})json";
constexpr std::string_view kSample = R"json({"tree": "sample", "entries": 30, "start": 0, "stop": 30, "branches": {"n": [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
"b": [true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false],
"ab": [[false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true], [false,true,false], [true,false,true]],
"Ab": [[], [true], [true,true], [true,true,true], [true,true,true,true], [], [false], [false,false], [false,false,false], [false,false,false,false], [], [true], [true,true], [true,true,true], [true,true,true,true], [], [false], [false,false], [false,false,false], [false,false,false,false], [], [true], [true,true], [true,true,true], [true,true,true,true], [], [false], [false,false], [false,false,false], [false,false,false,false]],
"i1": [-15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
"ai1": [[-14,-13,-12], [-13,-12,-11], [-12,-11,-10], [-11,-10,-9], [-10,-9,-8], [-9,-8,-7], [-8,-7,-6], [-7,-6,-5], [-6,-5,-4], [-5,-4,-3], [-4,-3,-2], [-3,-2,-1], [-2,-1,0], [-1,0,1], [0,1,2], [1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17]],
"Ai1": [[], [-15], [-15,-13], [-15,-13,-11], [-15,-13,-11,-9], [], [-10], [-10,-8], [-10,-8,-6], [-10,-8,-6,-4], [], [-5], [-5,-3], [-5,-3,-1], [-5,-3,-1,1], [], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16]],
"u1": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],
"au1": [[1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17], [16,17,18], [17,18,19], [18,19,20], [19,20,21], [20,21,22], [21,22,23], [22,23,24], [23,24,25], [24,25,26], [25,26,27], [26,27,28], [27,28,29], [28,29,30], [29,30,31], [30,31,32]],
"Au1": [[], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16], [], [15], [15,17], [15,17,19], [15,17,19,21], [], [20], [20,22], [20,22,24], [20,22,24,26], [], [25], [25,27], [25,27,29], [25,27,29,31]],
"i2": [-15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
"ai2": [[-14,-13,-12], [-13,-12,-11], [-12,-11,-10], [-11,-10,-9], [-10,-9,-8], [-9,-8,-7], [-8,-7,-6], [-7,-6,-5], [-6,-5,-4], [-5,-4,-3], [-4,-3,-2], [-3,-2,-1], [-2,-1,0], [-1,0,1], [0,1,2], [1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17]],
"Ai2": [[], [-15], [-15,-13], [-15,-13,-11], [-15,-13,-11,-9], [], [-10], [-10,-8], [-10,-8,-6], [-10,-8,-6,-4], [], [-5], [-5,-3], [-5,-3,-1], [-5,-3,-1,1], [], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16]],
"u2": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],
"au2": [[1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17], [16,17,18], [17,18,19], [18,19,20], [19,20,21], [20,21,22], [21,22,23], [22,23,24], [23,24,25], [24,25,26], [25,26,27], [26,27,28], [27,28,29], [28,29,30], [29,30,31], [30,31,32]],
"Au2": [[], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16], [], [15], [15,17], [15,17,19], [15,17,19,21], [], [20], [20,22], [20,22,24], [20,22,24,26], [], [25], [25,27], [25,27,29], [25,27,29,31]],
"i4": [-15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
"ai4": [[-14,-13,-12], [-13,-12,-11], [-12,-11,-10], [-11,-10,-9], [-10,-9,-8], [-9,-8,-7], [-8,-7,-6], [-7,-6,-5], [-6,-5,-4], [-5,-4,-3], [-4,-3,-2], [-3,-2,-1], [-2,-1,0], [-1,0,1], [0,1,2], [1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17]],
"Ai4": [[], [-15], [-15,-13], [-15,-13,-11], [-15,-13,-11,-9], [], [-10], [-10,-8], [-10,-8,-6], [-10,-8,-6,-4], [], [-5], [-5,-3], [-5,-3,-1], [-5,-3,-1,1], [], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16]],
"u4": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],
"au4": [[1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17], [16,17,18], [17,18,19], [18,19,20], [19,20,21], [20,21,22], [21,22,23], [22,23,24], [23,24,25], [24,25,26], [25,26,27], [26,27,28], [27,28,29], [28,29,30], [29,30,31], [30,31,32]],
"Au4": [[], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16], [], [15], [15,17], [15,17,19], [15,17,19,21], [], [20], [20,22], [20,22,24], [20,22,24,26], [], [25], [25,27], [25,27,29], [25,27,29,31]],
"i8": [-15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
"ai8": [[-14,-13,-12], [-13,-12,-11], [-12,-11,-10], [-11,-10,-9], [-10,-9,-8], [-9,-8,-7], [-8,-7,-6], [-7,-6,-5], [-6,-5,-4], [-5,-4,-3], [-4,-3,-2], [-3,-2,-1], [-2,-1,0], [-1,0,1], [0,1,2], [1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17]],
"Ai8": [[], [-15], [-15,-13], [-15,-13,-11], [-15,-13,-11,-9], [], [-10], [-10,-8], [-10,-8,-6], [-10,-8,-6,-4], [], [-5], [-5,-3], [-5,-3,-1], [-5,-3,-1,1], [], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16]],
"u8": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29],
"au8": [[1,2,3], [2,3,4], [3,4,5], [4,5,6], [5,6,7], [6,7,8], [7,8,9], [8,9,10], [9,10,11], [10,11,12], [11,12,13], [12,13,14], [13,14,15], [14,15,16], [15,16,17], [16,17,18], [17,18,19], [18,19,20], [19,20,21], [20,21,22], [21,22,23], [22,23,24], [23,24,25], [24,25,26], [25,26,27], [26,27,28], [27,28,29], [28,29,30], [29,30,31], [30,31,32]],
"Au8": [[], [0], [0,2], [0,2,4], [0,2,4,6], [], [5], [5,7], [5,7,9], [5,7,9,11], [], [10], [10,12], [10,12,14], [10,12,14,16], [], [15], [15,17], [15,17,19], [15,17,19,21], [], [20], [20,22], [20,22,24], [20,22,24,26], [], [25], [25,27], [25,27,29], [25,27,29,31]],
"f4": [-14.9, -13.9, -12.9, -11.9, -10.9, -9.9, -8.9, -7.9, -6.9, -5.9, -4.9, -3.9, -2.9, -1.9, -0.9, 0.1, 1.1, 2.1, 3.1, 4.1, 5.1, 6.1, 7.1, 8.1, 9.1, 10.1, 11.1, 12.1, 13.1, 14.1],
"af4": [[-13.9,-12.9,-11.9], [-12.9,-11.9,-10.9], [-11.9,-10.9,-9.9], [-10.9,-9.9,-8.9], [-9.9,-8.9,-7.9], [-8.9,-7.9,-6.9], [-7.9,-6.9,-5.9], [-6.9,-5.9,-4.9], [-5.9,-4.9,-3.9], [-4.9,-3.9,-2.9], [-3.9,-2.9,-1.9], [-2.9,-1.9,-0.9], [-1.9,-0.9,0.1], [-0.9,0.1,1.1], [0.1,1.1,2.1], [1.1,2.1,3.1], [2.1,3.1,4.1], [3.1,4.1,5.1], [4.1,5.1,6.1], [5.1,6.1,7.1], [6.1,7.1,8.1], [7.1,8.1,9.1], [8.1,9.1,10.1], [9.1,10.1,11.1], [10.1,11.1,12.1], [11.1,12.1,13.1], [12.1,13.1,14.1], [13.1,14.1,15.1], [14.1,15.1,16.1], [15.1,16.1,17.1]],
"Af4": [[], [-15], [-15,-13.9], [-15,-13.9,-12.8], [-15,-13.9,-12.8,-11.7], [], [-10], [-10,-8.9], [-10,-8.9,-7.8], [-10,-8.9,-7.8,-6.7], [], [-5], [-5,-3.9], [-5,-3.9,-2.8], [-5,-3.9,-2.8,-1.7], [], [0], [0,1.1], [0,1.1,2.2], [0,1.1,2.2,3.3], [], [5], [5,6.1], [5,6.1,7.2], [5,6.1,7.2,8.3], [], [10], [10,11.1], [10,11.1,12.2], [10,11.1,12.2,13.3]],
"f8": [-14.9, -13.9, -12.9, -11.9, -10.9, -9.9, -8.9, -7.9, -6.9, -5.9, -4.9, -3.9000000000000004, -2.9000000000000004, -1.9000000000000004, -0.9000000000000004, 0.09999999999999964, 1.0999999999999996, 2.0999999999999996, 3.0999999999999996, 4.1, 5.1, 6.1, 7.1, 8.1, 9.1, 10.1, 11.1, 12.1, 13.1, 14.1],
"af8": [[-13.9,-12.9,-11.9], [-12.9,-11.9,-10.9], [-11.9,-10.9,-9.9], [-10.9,-9.9,-8.9], [-9.9,-8.9,-7.9], [-8.9,-7.9,-6.9], [-7.9,-6.9,-5.9], [-6.9,-5.9,-4.9], [-5.9,-4.9,-3.9000000000000004], [-4.9,-3.9000000000000004,-2.9000000000000004], [-3.9000000000000004,-2.9000000000000004,-1.9000000000000004], [-2.9000000000000004,-1.9000000000000004,-0.9000000000000004], [-1.9000000000000004,-0.9000000000000004,0.09999999999999964], [-0.9000000000000004,0.09999999999999964,1.0999999999999996], [0.09999999999999964,1.0999999999999996,2.0999999999999996], [1.0999999999999996,2.0999999999999996,3.0999999999999996], [2.0999999999999996,3.0999999999999996,4.1], [3.0999999999999996,4.1,5.1], [4.1,5.1,6.1], [5.1,6.1,7.1], [6.1,7.1,8.1], [7.1,8.1,9.1], [8.1,9.1,10.1], [9.1,10.1,11.1], [10.1,11.1,12.1], [11.1,12.1,13.1], [12.1,13.1,14.1], [13.1,14.1,15.1], [14.1,15.1,16.1], [15.1,16.1,17.1]],
"Af8": [[], [-15], [-15,-13.9], [-15,-13.9,-12.8], [-15,-13.9,-12.8,-11.7], [], [-10], [-10,-8.9], [-10,-8.9,-7.8], [-10,-8.9,-7.8,-6.7], [], [-5], [-5,-3.9], [-5,-3.9,-2.8], [-5,-3.9,-2.8,-1.7], [], [0], [0,1.1], [0,1.1,2.2], [0,1.1,2.2,3.3], [], [5], [5,6.1], [5,6.1,7.2], [5,6.1,7.2,8.3], [], [10], [10,11.1], [10,11.1,12.2], [10,11.1,12.2,13.3]],
"str": ["hey-0", "hey-1", "hey-2", "hey-3", "hey-4", "hey-5", "hey-6", "hey-7", "hey-8", "hey-9", "hey-10", "hey-11", "hey-12", "hey-13", "hey-14", "hey-15", "hey-16", "hey-17", "hey-18", "hey-19", "hey-20", "hey-21", "hey-22", "hey-23", "hey-24", "hey-25", "hey-26", "hey-27", "hey-28", "hey-29"]}})json";
constexpr std::string_view kStl = R"json({"tree": "tree", "entries": 5, "start": 0, "stop": 5, "branches": {"string": ["one", "two", "three", "four", "five"],
"tstring": ["one", "two", "three", "four", "five"],
"vector_int32": [[1], [1,2], [1,2,3], [1,2,3,4], [1,2,3,4,5]],
"vector_string": [["one"], ["one","two"], ["one","two","three"], ["one","two","three","four"], ["one","two","three","four","five"]],
"vector_tstring": [["one"], ["one","two"], ["one","two","three"], ["one","two","three","four"], ["one","two","three","four","five"]],
"vector_vector_int32": [[[1]], [[1],[1,2]], [[1],[1,2],[1,2,3]], [[1],[1,2],[1,2,3],[1,2,3,4]], [[1],[1,2],[1,2,3],[1,2,3,4],[1,2,3,4,5]]],
"vector_vector_string": [[["one"]], [["one"],["one","two"]], [["one"],["one","two"],["one","two","three"]], [["one"],["one","two"],["one","two","three"],["one","two","three","four"]], [["one"],["one","two"],["one","two","three"],["one","two","three","four"],["one","two","three","four","five"]]],
"vector_vector_tstring": [[["one"]], [["one"],["one","two"]], [["one"],["one","two"],["one","two","three"]], [["one"],["one","two"],["one","two","three"],["one","two","three","four"]], [["one"],["one","two"],["one","two","three"],["one","two","three","four"],["one","two","three","four","five"]]],
"vector_set_int32": [[[1]], [[1],[1,2]], [[1],[1,2],[1,2,3]], [[1],[1,2],[1,2,3],[1,2,3,4]], [[1],[1,2],[1,2,3],[1,2,3,4],[1,2,3,4,5]]],
"vector_set_string": [[["one"]], [["one"],["one","two"]], [["one"],["one","two"],["one","three","two"]], [["one"],["one","two"],["one","three","two"],["four","one","three","two"]], [["one"],["one","two"],["one","three","two"],["four","one","three","two"],["five","four","one","three","two"]]],
"set_int32": [[1], [1,2], [1,2,3], [1,2,3,4], [1,2,3,4,5]],
"set_string": [["one"], ["one","two"], ["one","three","two"], ["four","one","three","two"], ["five","four","one","three","two"]]}})json";
constexpr std::string_view kFullSplit0 = R"json({"tree": "tree", "entries": 100, "start": 0, "stop": 3, "branches": {"Beg": ["beg-000", "beg-001", "beg-002"],
"I16": [0, 1, 2],
"I32": [0, 1, 2],
"I64": [0, 1, 2],
"U16": [0, 1, 2],
"U32": [0, 1, 2],
"U64": [0, 1, 2],
"F32": [0, 1, 2],
"F64": [0, 1, 2],
"Str": ["evt-000", "evt-001", "evt-002"],
"P3.Px": [-1, 0, 1],
"P3.Py": [0, 1, 2],
"P3.Pz": [-1, 0, 1],
"ArrayI16[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayI32[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayI64[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayU16[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayU32[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayU64[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayF32[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"ArrayF64[10]": [[0,0,0,0,0,0,0,0,0,0], [1,1,1,1,1,1,1,1,1,1], [2,2,2,2,2,2,2,2,2,2]],
"N": [0, 1, 2],
"SliceI16": [[], [1], [2,2]],
"SliceI32": [[], [1], [2,2]],
"SliceI64": [[], [1], [2,2]],
"SliceU16": [[], [1], [2,2]],
"SliceU32": [[], [1], [2,2]],
"SliceU64": [[], [1], [2,2]],
"SliceF32": [[], [1], [2,2]],
"SliceF64": [[], [1], [2,2]],
"StdStr": ["std-000", "std-001", "std-002"],
"StlVecI16": [[], [1], [2,2]],
"StlVecI32": [[], [1], [2,2]],
"StlVecI64": [[], [1], [2,2]],
"StlVecU16": [[], [1], [2,2]],
"StlVecU32": [[], [1], [2,2]],
"StlVecU64": [[], [1], [2,2]],
"StlVecF32": [[], [1], [2,2]],
"StlVecF64": [[], [1], [2,2]],
"StlVecStr": [[], ["vec-001"], ["vec-002","vec-002"]],
"End": ["end-000", "end-001", "end-002"]}})json";
constexpr std::string_view kFullSplit13 = R"json({"tree": "tree", "entries": 100, "start": 13, "stop": 15, "branches": {"Beg": ["beg-013", "beg-014"],
"I16": [13, 14],
"I32": [13, 14],
"I64": [13, 14],
"U16": [13, 14],
"U32": [13, 14],
"U64": [13, 14],
"F32": [13, 14],
"F64": [13, 14],
"Str": ["evt-013", "evt-014"],
"P3.Px": [12, 13],
"P3.Py": [13, 14],
"P3.Pz": [12, 13],
"ArrayI16[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayI32[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayI64[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayU16[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayU32[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayU64[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayF32[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"ArrayF64[10]": [[13,13,13,13,13,13,13,13,13,13], [14,14,14,14,14,14,14,14,14,14]],
"N": [3, 4],
"SliceI16": [[13,13,13], [14,14,14,14]],
"SliceI32": [[13,13,13], [14,14,14,14]],
"SliceI64": [[13,13,13], [14,14,14,14]],
"SliceU16": [[13,13,13], [14,14,14,14]],
"SliceU32": [[13,13,13], [14,14,14,14]],
"SliceU64": [[13,13,13], [14,14,14,14]],
"SliceF32": [[13,13,13], [14,14,14,14]],
"SliceF64": [[13,13,13], [14,14,14,14]],
"StdStr": ["std-013", "std-014"],
"StlVecI16": [[13,13,13], [14,14,14,14]],
"StlVecI32": [[13,13,13], [14,14,14,14]],
"StlVecI64": [[13,13,13], [14,14,14,14]],
"StlVecU16": [[13,13,13], [14,14,14,14]],
"StlVecU32": [[13,13,13], [14,14,14,14]],
"StlVecU64": [[13,13,13], [14,14,14,14]],
"StlVecF32": [[13,13,13], [14,14,14,14]],
"StlVecF64": [[13,13,13], [14,14,14,14]],
"StlVecStr": [["vec-013","vec-013","vec-013"], ["vec-014","vec-014","vec-014","vec-014"]],
"End": ["end-013", "end-014"]}})json";
constexpr std::string_view kFullSplit99 = R"json({"tree": "tree", "entries": 100, "start": 99, "stop": 100, "branches": {"Beg": ["beg-099"],
"I16": [99],
"I32": [99],
"I64": [99],
"U16": [99],
"U32": [99],
"U64": [99],
"F32": [99],
"F64": [99],
"Str": ["evt-099"],
"P3.Px": [98],
"P3.Py": [99],
"P3.Pz": [98],
"ArrayI16[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayI32[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayI64[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayU16[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayU32[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayU64[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayF32[10]": [[99,99,99,99,99,99,99,99,99,99]],
"ArrayF64[10]": [[99,99,99,99,99,99,99,99,99,99]],
"N": [9],
"SliceI16": [[99,99,99,99,99,99,99,99,99]],
"SliceI32": [[99,99,99,99,99,99,99,99,99]],
"SliceI64": [[99,99,99,99,99,99,99,99,99]],
"SliceU16": [[99,99,99,99,99,99,99,99,99]],
"SliceU32": [[99,99,99,99,99,99,99,99,99]],
"SliceU64": [[99,99,99,99,99,99,99,99,99]],
"SliceF32": [[99,99,99,99,99,99,99,99,99]],
"SliceF64": [[99,99,99,99,99,99,99,99,99]],
"StdStr": ["std-099"],
"StlVecI16": [[99,99,99,99,99,99,99,99,99]],
"StlVecI32": [[99,99,99,99,99,99,99,99,99]],
"StlVecI64": [[99,99,99,99,99,99,99,99,99]],
"StlVecU16": [[99,99,99,99,99,99,99,99,99]],
"StlVecU32": [[99,99,99,99,99,99,99,99,99]],
"StlVecU64": [[99,99,99,99,99,99,99,99,99]],
"StlVecF32": [[99,99,99,99,99,99,99,99,99]],
"StlVecF64": [[99,99,99,99,99,99,99,99,99]],
"StlVecStr": [["vec-099","vec-099","vec-099","vec-099","vec-099","vec-099","vec-099","vec-099","vec-099"]],
"End": ["end-099"]}})json";
constexpr std::string_view kDouble32Head = R"json({"tree": "T", "entries": 40000, "start": 0, "stop": 3, "branches": {"fD64": [3.139970014114631, -2.1179997181382832, -1.3658526118265433],
"fF32": [3.139970064163208, -2.117999792098999, -1.3658525943756104],
"fI32": [3.1399700141142546, -2.1179997178999592, -1.3658526114130964],
"fI30": [3.139970014114631, -2.117999716675365, -1.3658526103636253],
"fI28": [3.139970008262959, -2.1179997108236925, -1.36585262206697],
"fI26": [3.139970008262959, -2.1179996874170035, -1.3658525986602807],
"fI24": [3.139969914636202, -2.1179997810437605, -1.3658525986602807],
"fI22": [3.13997028914323, -2.117999032029704, -1.3658525986602807],
"fI20": [3.139968791115117, -2.11800202808593, -1.3658540966883939],
"fI18": [3.1399627990026646, -2.1179960359734773, -1.3658421124634885],
"fI16": [3.1399627990026646, -2.118043972873099, -1.3658181440136778],
"fI14": [3.1400586728019073, -2.118043972873099, -1.3660098916121635],
"fI12": [3.1400586728019073, -2.1184274680700703, -1.3652429012182206],
"fI10": [3.141592653589793, -2.1168934872821845, -1.368310862793992],
"fI8": [3.141592653589793, -2.110757564130642, -1.3744467859455345],
"fI6": [3.141592653589793, -2.1598449493429825, -1.3744467859455345],
"fI4": [3.141592653589793, -1.9634954084936207, -1.1780972450961724],
"fI2": [3.141592653589793, -1.5707963267948966, -1.5707963267948966],
"fR14": [3.1400146484375, -2.1180419921875, -1.3658447265625],
"fR12": [3.14013671875, -2.1181640625, -1.365966796875],
"fR10": [3.140625, -2.1171875, -1.3662109375],
"fR8": [3.140625, -2.1171875, -1.3671875],
"fR6": [3.125, -2.125, -1.359375],
"fR4": [3.125, -2.125, -1.375],
"fR2": [3, -2, -1.25]}})json";
constexpr std::string_view kDouble32Tail = R"json({"tree": "T", "entries": 40000, "start": 39998, "stop": 40000, "branches": {"fD64": [-1.3565243468782942, 2.91737847028337],
"fF32": [-1.3565243482589722, 2.9173784255981445],
"fI32": [-1.3565243464626753, 2.9173784702311663],
"fI30": [-1.3565243483412122, 2.9173784732092054],
"fI28": [-1.3565243541928844, 2.9173784790608783],
"fI26": [-1.3565243775995737, 2.9173784790608783],
"fI24": [-1.3565243775995737, 2.9173782918073634],
"fI22": [-1.3565243775995737, 2.9173782918073634],
"fI20": [-1.3565243775995737, 2.9173797898354774],
"fI18": [-1.356518385487121, 2.9173678056105716],
"fI16": [-1.356518385487121, 2.917343837160761],
"fI14": [-1.3564225116878783, 2.9172479633615183],
"fI12": [-1.3560390164909069, 2.91763145855849],
"fI10": [-1.3560390164909069, 2.9145634969827183],
"fI8": [-1.3499030933393643, 2.9206994201342606],
"fI6": [-1.3744467859455345, 2.945243112740431],
"fI4": [-1.1780972450961724, 2.7488935718910685],
"fI2": [-1.5707963267948966, 3.141592653589793],
"fR14": [-1.35650634765625, 2.9173583984375],
"fR12": [-1.3564453125, 2.91748046875],
"fR10": [-1.3564453125, 2.91796875],
"fR8": [-1.35546875, 2.9140625],
"fR6": [-1.359375, 2.90625],
"fR4": [-1.375, 2.875],
"fR2": [-1.25, 3]}})json";
constexpr std::string_view kDouble32Mid = R"json({"tree": "T", "entries": 40000, "start": 20000, "stop": 20001, "branches": {"fD64": [-2.7335404353655925],
"fF32": [-2.7335405349731445],
"fI32": [-2.7335404352705854],
"fI30": [-2.7335404339026743],
"fI28": [-2.733540445606019],
"fI26": [-2.7335404690127083],
"fI24": [-2.7335402817591943],
"fI22": [-2.7335402817591943],
"fI20": [-2.7335417797873074],
"fI18": [-2.7335297955624016],
"fI16": [-2.7335537640122127],
"fI14": [-2.7335537640122127],
"fI12": [-2.7335537640122127],
"fI10": [-2.730485802436441],
"fI8": [-2.724349879284899],
"fI6": [-2.748893571891069],
"fI4": [-2.748893571891069],
"fI2": [-3.141592653589793],
"fR14": [-2.7335205078125],
"fR12": [-2.7333984375],
"fR10": [-2.734375],
"fR8": [-2.734375],
"fR6": [-2.71875],
"fR4": [-2.75],
"fR2": [-2.5]}})json";
constexpr std::string_view kG4Details = R"json({"tree": "Details", "entries": 1, "start": 0, "stop": 1, "branches": {"timeperray": [0.008175764946617916],
"totaltime": [8.175764946617814],
"nrays": [1000],
"opts": ["[sim]\noutput=MiniDet_Opt\noutput_dir=files_uproot3\ninput=show.mac\ngdml=minidet_empty.gdml\ndisplaytime=20\nfire=1000\nthreads=0\nmpi=0\n\n[testing]\nenergy=0\nvertical=false\nvert.x.1=0.01\nvert.x.2=0.1\nvert.x.3=0\nvert.p.1=-0.191742\nvert.p.2=-2\nvert.p.3=-16.6645\nsetmev=0\nphys=0\n\n[analysis]\nstrips=true\norig=true\nfilter_hits=true\nmindep=0\nfilter_mu=true\nfinal=true\n\n[ray]\ncry=false\npcut=0\nseed=0\nchargeratio=1.3\n\n[dist]\npenumbra=0.1\narea=3.47871\nc1=25.3\nname=LogNormal\nlognormal.ybar=0.90464\nlognormal.yrms=1.08055\nlognormal.power=2\nuniform.min=0\nuniform.max=5\n\n[limit]\ndo=false\nphi.center=0\nphi.width=360\ntheta.lower=90\ntheta.upper=0\n\n[det]\nnumber=6\noverall=0.21\nreadout=0.755\natten=4.8\n\n[shell]\ninner=0.2\nthickness=0.004\n\n[core]\nouter=0.16\nthickness=0.006\n\n[strip]\ndivisions=24\nhollow.do=true\nhollow.factor=0.18\n\n[model]\nA=24\nB=35\nC=0.15\ncorner=0\nside=0\nsamepmt=0.006\nallpmts=0\n\n"],
"gdml": [""],
"numgood": [224],
"numvalid": [350]}})json";
constexpr std::string_view kG4HitStripsHead = R"json({"tree": "HitStrips", "entries": 4808, "start": 0, "stop": 3, "branches": {"Event": [0, 0, 0],
"Laystrip": [3070, 3071, 3072],
"Energy": [0.8458074, 1.6507252, 1.2928681]}})json";
constexpr std::string_view kG4HitStripsTail = R"json({"tree": "HitStrips", "entries": 4808, "start": 4806, "stop": 4808, "branches": {"Event": [998, 998],
"Laystrip": [3014, 3084],
"Energy": [1.3865339, 1.5230327]}})json";
constexpr std::string_view kG4Generated = R"json({"tree": "GeneratedTracks", "entries": 1000, "start": 0, "stop": 2, "branches": {"Event": [0, 1],
"phi": [2.3114862, 1.679737],
"cot": [0.25261804, 0.16434132],
"z": [-0.25839505, -0.4991937],
"b": [-0.18533166, -0.20552087],
"p": [1.8756949, 0.75890285],
"raynum": [1, 2]}})json";
constexpr std::string_view kG4TrackedTail = R"json({"tree": "TrackedRays", "entries": 224, "start": 222, "stop": 224, "branches": {"Event": [993, 997],
"phi": [4.3065543, 5.1258087],
"cot": [1.1950306, 0.1960514],
"z": [-0.038204193, 0.32687023],
"b": [-0.130436, 0.03778626]}})json";
constexpr std::string_view kDyHead = R"json({"tree": "tree", "entries": 501, "start": 0, "stop": 3, "branches": {"nJet": [4, 5, 4],
"nMuon": [2, 0, 1],
"Jet_jetId": [[3,3,3,3], [3,3,3,3,3], [3,3,3,3]],
"Jet_pt": [[34.09375,33.53125,20.25,19.890625], [36.09375,26.8125,21.25,17.71875,17.640625], [32.78125,17.703125,15.4609375,15.390625]],
"MET_pt": [8.589953, 11.351953, 22.375097],
"Muon_charge": [[1,-1], [], [1]],
"Muon_pt": [[31.203194,15.72041], [], [27.525118]],
"event": [41602225, 41602206, 41602208]}})json";
constexpr std::string_view kDyTail = R"json({"tree": "tree", "entries": 501, "start": 499, "stop": 501, "branches": {"nJet": [4, 7],
"nMuon": [2, 1],
"Jet_jetId": [[3,3,3,3], [3,0,3,3,3,3,3]],
"Jet_pt": [[55.125,34.71875,31.53125,16.828125], [62.25,30.4375,24.5625,21.4375,19.265625,18.125,15.5078125]],
"MET_pt": [14.736884, 43.98114],
"Muon_charge": [[1,-1], [1]],
"Muon_pt": [[49.66783,27.690681], [27.182411]],
"event": [41604175, 41604152]}})json";
constexpr std::string_view kNestedTail = R"json({"tree": "one/two/tree", "entries": 100, "start": 98, "stop": 100, "branches": {"Int32": [98, 99],
"Int64": [98, 99],
"UInt32": [98, 99],
"UInt64": [98, 99],
"Float32": [98, 99],
"Float64": [98, 99],
"Str": ["evt-098", "evt-099"],
"ArrayInt32": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"ArrayInt64": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"ArrayUInt32": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"ArrayUInt64": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"ArrayFloat32": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"ArrayFloat64": [[98,98,98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99,99]],
"N": [8, 9],
"SliceInt32": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]],
"SliceInt64": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]],
"SliceUInt32": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]],
"SliceUInt64": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]],
"SliceFloat32": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]],
"SliceFloat64": [[98,98,98,98,98,98,98,98], [99,99,99,99,99,99,99,99,99]]}})json";
constexpr std::string_view kHepHead = R"json({"tree": "ntuple", "entries": 75000, "start": 0, "stop": 2, "branches": {"px": [0.019409453, 0.32718953],
"py": [0.0118254805, 0.03787821],
"pz": [0.0005165689, 0.10848775],
"random": [0.2826178, 0.4849736],
"i": [0, 1]}})json";
constexpr std::string_view kHepTail = R"json({"tree": "ntuple", "entries": 75000, "start": 74999, "stop": 75000, "branches": {"px": [0.21214855],
"py": [-0.7954042],
"pz": [0.67767483],
"random": [0.4416139],
"i": [74999]}})json";
constexpr std::string_view k750Head = R"json({"tree": "tout", "entries": 312, "start": 0, "stop": 2, "branches": {"Muon_pt": [43.82863998413086, 29.700536727905273],
"Muon_eta": [0.110565185546875, -0.22564697265625],
"Muon_phi": [-0.65087890625, -2.27392578125],
"Muon_mass": [0.105712890625, 0.105712890625],
"Electron_pt": [41.94851303100586, 99.6292495727539],
"Electron_eta": [-0.6556396484375, -0.724609375],
"Electron_phi": [-2.2197265625, 2.8486328125],
"Electron_mass": [0.006137847900390625, -0.048583984375],
"Jet_pt": [43.5625, 76.75],
"Jet_eta": [-2.28955078125, 1.3544921875],
"Jet_phi": [1.781005859375, 0.5206298828125],
"Jet_mass": [8.765625, 8.3671875],
"mu_e_inv_mass": [69.30480080117681, 65.65302728255115],
"leading_lepton_pt": [43.82863998413086, 99.6292495727539],
"N_jet_loose": [3, 3],
"N_jet_tight": [1, 1],
"N_jet_medium": [1, 1]}})json";
constexpr std::string_view k750Tail = R"json({"tree": "tout", "entries": 312, "start": 310, "stop": 312, "branches": {"Muon_pt": [56.69893264770508, 65.02568817138672],
"Muon_eta": [1.06982421875, -0.9088134765625],
"Muon_phi": [2.00244140625, 2.9169921875],
"Muon_mass": [0.105712890625, 0.105712890625],
"Electron_pt": [48.31298065185547, 49.25630569458008],
"Electron_eta": [0.957275390625, -0.981201171875],
"Electron_phi": [-1.162353515625, -0.46771240234375],
"Electron_mass": [-0.01026153564453125, 0.0136566162109375],
"Jet_pt": [35.75, 187.25],
"Jet_eta": [0.0385894775390625, -1.367431640625],
"Jet_phi": [0.28131103515625, 0.8543701171875],
"Jet_mass": [6.62890625, 25.28125],
"mu_e_inv_mass": [104.83538875193668, 112.42837070964825],
"leading_lepton_pt": [56.69893264770508, 65.02568817138672],
"N_jet_loose": [4, 7],
"N_jet_tight": [0, 3],
"N_jet_medium": [2, 4]}})json";
constexpr std::string_view kSimple = R"json({"tree": "tree", "entries": 4, "start": 0, "stop": 4, "branches": {"one": [1, 2, 3, 4],
"two": [1.1, 2.2, 3.3, 4.4],
"three": ["uno", "dos", "tres", "quatro"]}})json";
constexpr std::string_view kIssue38a = R"json({"tree": "ntupler/tree", "entries": 1, "start": 0, "stop": 1, "branches": {"v_int16": [[1,2,3]],
"v_int32": [[1,2,3]],
"v_int64": [[1,2,3]],
"v_uint16": [[1,2,3]],
"v_uint32": [[1,2,3]],
"v_uint64": [[1,2,3]],
"v_bool": [[false,true]],
"v_float": [[999,-999]],
"v_double": [[999,-999]]}})json";
constexpr std::string_view kVectorVectorDouble = R"json({"tree": "t", "entries": 5, "start": 0, "stop": 5, "branches": {"x": [[], [[],[]], [[10],[],[10,20]], [[20,-21,-22]], [[200],[-201],[202]]]}})json";
constexpr std::string_view kNestedOneTree = R"json({"tree": "one/tree", "entries": 4, "start": 0, "stop": 4, "branches": {"one": [1, 2, 3, 4],
"two": [1.1, 2.2, 3.3, 4.4],
"three": ["uno", "dos", "tres", "quatro"]}})json";
constexpr std::string_view kIssue79Boundary = R"json({"tree": "taus", "entries": 1000000, "start": 711307, "stop": 711311, "branches": {"pt": [26.304783, 60.293434, 43.896957, 36.523815]}})json";
constexpr std::string_view kIssue412Boundary = R"json({"tree": "test", "entries": 1000000, "start": 9998, "stop": 10002, "branches": {"b1": [225, 125, 266, 298],
"b2": [false, false, false, false]}})json";
constexpr std::string_view kNestedThree = R"json({"tree": "three/tree", "entries": 100, "start": 50, "stop": 52, "branches": {"Beg": ["beg-050", "beg-051"],
"P3.Px": [49, 50],
"ArrayI16[10]": [[50,50,50,50,50,50,50,50,50,50], [51,51,51,51,51,51,51,51,51,51]],
"SliceF64": [[], [51]],
"StlVecStr": [[], ["vec-051"]],
"End": ["end-050", "end-051"]}})json";

// The comparison used by expect_oracle must see differences (guards against vacuous passes).
TEST(ReaderHelpers, OracleComparisonDetectsDifferences) {
  Column jag;
  jag.dtype = DType::kFloat32;
  jag.offsets = {{0, 2, 2}};
  jag.entries = 2;
  for (float v : {1.5f, -52.899456f}) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    jag.values.insert(jag.values.end(), p, p + 4);
  }
  EXPECT_EQ(mismatch(parse_json("[1.5,-52.899456]"), entry_cell(jag, 0), 0), "");
  EXPECT_EQ(mismatch(parse_json("[]"), entry_cell(jag, 1), 0), "");
  EXPECT_NE(mismatch(parse_json("[1.5,-52.89947]"), entry_cell(jag, 0), 0), "");
  EXPECT_NE(mismatch(parse_json("[1.5]"), entry_cell(jag, 0), 0), "");
  EXPECT_NE(mismatch(parse_json("1.5"), entry_cell(jag, 0), 0), "");
  Column str;
  str.dtype = DType::kChar;
  str.offsets = {{0, 0, 1}, {0, 3}};
  str.entries = 2;
  str.values = {'a', 'b', 'c'};
  EXPECT_EQ(mismatch(parse_json("[]"), entry_cell(str, 0), 0), "");
  EXPECT_EQ(mismatch(parse_json("[\"abc\"]"), entry_cell(str, 1), 0), "");
  EXPECT_NE(mismatch(parse_json("[\"abd\"]"), entry_cell(str, 1), 0), "");
  Column fixed;
  fixed.dtype = DType::kInt64;
  fixed.shape = {2};
  fixed.entries = 1;
  for (int64_t v : {int64_t{1} << 40, int64_t{-3}}) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    fixed.values.insert(fixed.values.end(), p, p + 8);
  }
  EXPECT_EQ(mismatch(parse_json("[1099511627776,-3]"), entry_cell(fixed, 0), 0), "");
  EXPECT_NE(mismatch(parse_json("[1099511627777,-3]"), entry_cell(fixed, 0), 0), "");
  Column d;
  d.dtype = DType::kFloat64;
  d.entries = 1;
  double x = 2.0000000000000004;
  resize_bytes(d.values, 8);
  std::memcpy(d.values.data(), &x, 8);
  EXPECT_NE(mismatch(parse_json("2"), entry_cell(d, 0), 0), "");
  EXPECT_EQ(mismatch(parse_json("2"), entry_cell(d, 0), 1e-15), "");
}

// ---------------------------------------------------------------------------------------------
// Codecs: the same HZZ / Zmumu data written with zlib, LZ4, LZMA, ZSTD and no compression.

const char* const kHzzFiles[] = {"uproot-HZZ.root",     "uproot-HZZ-zlib.root", "uproot-HZZ-lz4.root",
                                 "uproot-HZZ-lzma.root", "uproot-HZZ-zstd.root", "uproot-HZZ-uncompressed.root"};
const char* const kZmumuFiles[] = {"uproot-Zmumu.root",      "uproot-Zmumu-zlib.root",
                                   "uproot-Zmumu-lz4.root",  "uproot-Zmumu-lzma.root",
                                   "uproot-Zmumu-zstd.root", "uproot-Zmumu-uncompressed.root"};

void expect_same_tree(const Tree& ref, const Tree& other) {
  ASSERT_EQ(ref.entries(), other.entries()) << other.file().url();
  ASSERT_EQ(ref.all_branches().size(), other.all_branches().size()) << other.file().url();
  auto a = read_every_branch(ref);
  auto b = read_every_branch(other);
  ASSERT_EQ(a.size(), b.size()) << other.file().url();
  for (const auto& [path, col] : a) {
    auto it = b.find(path);
    if (it == b.end()) {
      ADD_FAILURE() << other.file().url() << ": branch " << path << " missing";
      continue;
    }
    EXPECT_TRUE(col == it->second) << other.file().url() << ": branch " << path
                                   << " differs from " << ref.file().url();
  }
}

TEST(ReaderCodecs, HzzEveryBranchIdenticalInAllSixFiles) {
  M4H_REQUIRE_TESTDATA();
  auto ref = load("uproot-HZZ-uncompressed.root", "events");
  EXPECT_EQ(ref->entries(), 2421);
  EXPECT_EQ(ref->all_branches().size(), 51u);
  EXPECT_EQ(read_every_branch(*ref).size(), 51u);
  for (const char* f : kHzzFiles) {
    SCOPED_TRACE(f);
    expect_same_tree(*ref, *load(f, "events"));
  }
}

TEST(ReaderCodecs, HzzValuesMatchOracleInEveryCodec) {
  M4H_REQUIRE_TESTDATA();
  for (const char* f : kHzzFiles) {
    SCOPED_TRACE(f);
    auto t = load(f, "events");
    expect_oracle(*t, kHzzHead);
    expect_oracle(*t, kHzzTail);
  }
}

TEST(ReaderCodecs, HzzSpecificValuesThroughColumnApi) {
  M4H_REQUIRE_TESTDATA();
  for (const char* f : kHzzFiles) {
    SCOPED_TRACE(f);
    auto t = load(f, "events");
    Column px = read_all(*t, "Muon_Px");
    ASSERT_EQ(px.dtype, DType::kFloat32);
    ASSERT_EQ(px.offsets.size(), 1u);
    ASSERT_EQ(px.offsets[0].size(), 2422u);
    EXPECT_EQ(px.offsets[0][0], 0);
    EXPECT_EQ(px.offsets[0][1], 2);
    EXPECT_EQ(px.offsets[0][2], 3);
    EXPECT_EQ(px.value<float>(0), -52.899456f);
    EXPECT_EQ(px.value<float>(1), 37.73778f);
    EXPECT_EQ(px.value<float>(2), -0.81645936f);
    // Totals from the oracle: 3825 muons, 2773 jets, last muon px 23.913206, largest 322.2961.
    EXPECT_EQ(px.value_count(), 3825);
    EXPECT_EQ(px.offsets[0].back(), 3825);
    EXPECT_EQ(px.value<float>(3824), 23.913206f);
    float mx = -1e30f;
    for (float v : values_of<float>(px)) mx = std::max(mx, v);
    EXPECT_EQ(mx, 322.2961f);

    Column nmuon = read_all(*t, "NMuon");
    ASSERT_EQ(nmuon.dtype, DType::kInt32);
    EXPECT_TRUE(nmuon.offsets.empty());
    EXPECT_EQ(nmuon.value<int32_t>(0), 2);
    int64_t sum = 0;
    for (int32_t n : values_of<int32_t>(nmuon)) sum += n;
    EXPECT_EQ(sum, 3825);
    // The counter and the counted branch agree entry by entry.
    for (int64_t i = 0; i < nmuon.entries; ++i)
      ASSERT_EQ(px.offsets[0][i + 1] - px.offsets[0][i], nmuon.value<int32_t>(i)) << "entry " << i;

    Column njet = read_all(*t, "NJet");
    sum = 0;
    for (int32_t n : values_of<int32_t>(njet)) sum += n;
    EXPECT_EQ(sum, 2773);
    EXPECT_EQ(read_all(*t, "Jet_Px").value_count(), 2773);

    Column met = read_all(*t, "MET_px");
    ASSERT_EQ(met.dtype, DType::kFloat32);
    EXPECT_EQ(met.value<float>(0), 5.912771f);
    EXPECT_EQ(met.value<float>(2420), 19.713749f);

    Column jet_id = read_all(*t, "Jet_ID");
    EXPECT_EQ(jet_id.dtype, DType::kBool);
    EXPECT_EQ(read_all(*t, "triggerIsoMu24").dtype, DType::kBool);
    EXPECT_EQ(read_all(*t, "Muon_Charge").dtype, DType::kInt32);
  }
}

TEST(ReaderCodecs, ZmumuEveryBranchIdenticalInAllSixFiles) {
  M4H_REQUIRE_TESTDATA();
  auto ref = load("uproot-Zmumu-uncompressed.root", "events");
  EXPECT_EQ(ref->entries(), 2304);
  EXPECT_EQ(read_every_branch(*ref).size(), 20u);
  for (const char* f : kZmumuFiles) {
    SCOPED_TRACE(f);
    expect_same_tree(*ref, *load(f, "events"));
  }
}

TEST(ReaderCodecs, ZmumuValuesMatchOracleInEveryCodec) {
  M4H_REQUIRE_TESTDATA();
  for (const char* f : kZmumuFiles) {
    SCOPED_TRACE(f);
    auto t = load(f, "events");
    expect_oracle(*t, kZmumuHead);
    expect_oracle(*t, kZmumuTail);
    Column type = read_all(*t, "Type");
    ASSERT_EQ(type.dtype, DType::kChar);
    ASSERT_EQ(type.offsets.size(), 1u);
    ASSERT_EQ(type.entries, 2304);
    EXPECT_EQ(string_at(type, 0), "GT");
    EXPECT_EQ(string_at(type, 1), "TT");
    EXPECT_EQ(string_at(type, 2303), "GG");
    Column e1 = read_all(*t, "E1");
    ASSERT_EQ(e1.dtype, DType::kFloat64);
    EXPECT_EQ(e1.value<double>(0), 82.2018663875);
    EXPECT_EQ(read_all(*t, "Run").value<int32_t>(0), 148031);
  }
}

// ---------------------------------------------------------------------------------------------
// Every leaf type: the `sample` tree.

const char* const kSampleFiles[] = {
    "uproot-sample-5.23.02-uncompressed.root", "uproot-sample-5.23.02-zlib.root",
    "uproot-sample-6.10.05-lz4.root",          "uproot-sample-6.20.04-lz4.root",
    "uproot-sample-6.20.04-lzma.root",         "uproot-sample-6.20.04-zlib.root",
    "uproot-sample-6.20.04-uncompressed.root"};

TEST(ReaderLeafTypes, SampleDtypesShapesAndNesting) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-sample-6.20.04-uncompressed.root", "sample");
  ASSERT_EQ(t->entries(), 30);
  ASSERT_EQ(t->all_branches().size(), 35u);
  const std::pair<const char*, DType> types[] = {
      {"b", DType::kBool},     {"i1", DType::kInt8},     {"u1", DType::kUInt8},   {"i2", DType::kInt16},
      {"u2", DType::kUInt16},  {"i4", DType::kInt32},    {"u4", DType::kUInt32},  {"i8", DType::kInt64},
      {"u8", DType::kUInt64},  {"f4", DType::kFloat32},  {"f8", DType::kFloat64}};
  for (const auto& [name, dtype] : types) {
    SCOPED_TRACE(name);
    const std::string scalar = name;
    std::string fixed = "a" + scalar, counted = "A" + scalar;
    Column s = read_all(*t, scalar), a = read_all(*t, fixed), c = read_all(*t, counted);
    EXPECT_EQ(s.dtype, dtype);
    EXPECT_EQ(a.dtype, dtype);
    EXPECT_EQ(c.dtype, dtype);
    EXPECT_TRUE(s.shape.empty());
    EXPECT_TRUE(s.offsets.empty());
    EXPECT_EQ(s.value_count(), 30);
    EXPECT_EQ(a.shape, std::vector<int>{3});
    EXPECT_TRUE(a.offsets.empty());
    EXPECT_EQ(a.value_count(), 90);
    EXPECT_TRUE(c.shape.empty());
    ASSERT_EQ(c.offsets.size(), 1u);
    // The counter n is 0,1,2,3,4,0,1,... (oracle): the counted arrays hold 2*(0+1+2+3+4)*3 items.
    EXPECT_EQ(c.offsets[0].back(), 60);
    EXPECT_EQ(c.value_count(), 60);
    EXPECT_EQ(interpret(*t, *t->find(counted)).counter, t->find("n"));
  }
  Column n = read_all(*t, "n");
  EXPECT_EQ(n.dtype, DType::kInt32);
  Column str = read_all(*t, "str");
  EXPECT_EQ(str.dtype, DType::kChar);
  ASSERT_EQ(str.offsets.size(), 1u);
  EXPECT_EQ(string_at(str, 0), "hey-0");
  EXPECT_EQ(string_at(str, 29), "hey-29");
}

TEST(ReaderLeafTypes, SampleValuesMatchOracle) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-sample-6.20.04-uncompressed.root", "sample");
  expect_oracle(*t, kSample);
  // A few through the typed accessors (same oracle values).
  EXPECT_EQ(read_all(*t, "i1").value<int8_t>(0), -15);
  EXPECT_EQ(read_all(*t, "u8").value<uint64_t>(29), 29u);
  EXPECT_EQ(read_all(*t, "i8").value<int64_t>(0), -15);
  EXPECT_EQ(read_all(*t, "f4").value<float>(0), -14.9f);
  EXPECT_EQ(read_all(*t, "f8").value<double>(29), 14.1);
  Column ai2 = read_all(*t, "ai2");
  EXPECT_EQ(ai2.value<int16_t>(0), -14);
  EXPECT_EQ(ai2.value<int16_t>(2), -12);
  EXPECT_EQ(ai2.value<int16_t>(3), -13);
  Column au4 = read_all(*t, "Au4");
  ASSERT_EQ(au4.offsets[0].size(), 31u);
  EXPECT_EQ(au4.offsets[0][4] - au4.offsets[0][3], 3);
  EXPECT_EQ(au4.value<uint32_t>(au4.offsets[0][3] + 2), 4u);
  Column b = read_all(*t, "b");
  EXPECT_EQ(b.value<uint8_t>(0), 1);
  EXPECT_EQ(b.value<uint8_t>(1), 0);
}

TEST(ReaderLeafTypes, AllRootVersionsAndCodecsEqualTheUncompressedFile) {
  M4H_REQUIRE_TESTDATA();
  auto ref = load("uproot-sample-6.20.04-uncompressed.root", "sample");
  for (const char* f : kSampleFiles) {
    SCOPED_TRACE(f);
    auto t = load(f, "sample");
    expect_same_tree(*ref, *t);
    expect_oracle(*t, kSample);
  }
}

// ---------------------------------------------------------------------------------------------
// Jagged, nested and string data.

TEST(ReaderNested, VectorVectorDoubleOffsets) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-vectorVectorDouble.root", "t");
  expect_oracle(*t, kVectorVectorDouble);
  Column x = read_all(*t, "x");
  EXPECT_EQ(x.dtype, DType::kFloat64);
  // x = [[], [[],[]], [[10],[],[10,20]], [[20,-21,-22]], [[200],[-201],[202]]]
  ASSERT_EQ(x.offsets.size(), 2u);
  EXPECT_EQ(x.offsets[0], (std::vector<int64_t>{0, 0, 2, 5, 6, 9}));
  EXPECT_EQ(x.offsets[1], (std::vector<int64_t>{0, 0, 0, 1, 1, 3, 6, 7, 8, 9}));
  EXPECT_EQ(values_of<double>(x), (std::vector<double>{10, 10, 20, 20, -21, -22, 200, -201, 202}));
  // Sub-ranges keep the same structure.
  Column mid = read_branch(*t, *t->find("x"), 2, 4);
  EXPECT_EQ(mid.offsets[0], (std::vector<int64_t>{0, 3, 4}));
  EXPECT_EQ(mid.offsets[1], (std::vector<int64_t>{0, 1, 1, 3, 6}));
  EXPECT_EQ(values_of<double>(mid), (std::vector<double>{10, 10, 20, 20, -21, -22}));
}

TEST(ReaderNested, StlContainers) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-stl_containers.root", "tree");
  expect_oracle(*t, kStl);
  struct Want {
    const char* name;
    DType dtype;
    std::size_t levels;
  };
  const Want wants[] = {{"string", DType::kChar, 1},
                        {"tstring", DType::kChar, 1},
                        {"vector_int32", DType::kInt32, 1},
                        {"vector_string", DType::kChar, 2},
                        {"vector_tstring", DType::kChar, 2},
                        {"vector_vector_int32", DType::kInt32, 2},
                        {"vector_vector_string", DType::kChar, 3},
                        {"vector_vector_tstring", DType::kChar, 3},
                        {"vector_set_int32", DType::kInt32, 2},
                        {"vector_set_string", DType::kChar, 3},
                        {"set_int32", DType::kInt32, 1},
                        {"set_string", DType::kChar, 2}};
  for (const auto& w : wants) {
    SCOPED_TRACE(w.name);
    Column c = read_all(*t, w.name);
    EXPECT_EQ(c.dtype, w.dtype);
    EXPECT_EQ(c.offsets.size(), w.levels);
    EXPECT_EQ(c.entries, 5);
  }
  Column vs = read_all(*t, "vector_string");
  EXPECT_EQ(vs.offsets[0], (std::vector<int64_t>{0, 1, 3, 6, 10, 15}));
  EXPECT_EQ(string_at(vs, 14), "five");
  Column vvi = read_all(*t, "vector_vector_int32");
  EXPECT_EQ(vvi.offsets[0], (std::vector<int64_t>{0, 1, 3, 6, 10, 15}));
  EXPECT_EQ(vvi.offsets[1].back(), 35);  // 1 + 3 + 6 + 10 + 15 ints
}

TEST(ReaderNested, FullySplitEventMembers) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-small-evnt-tree-fullsplit.root", "tree");
  EXPECT_EQ(t->entries(), 100);
  expect_oracle(*t, kFullSplit0);
  expect_oracle(*t, kFullSplit13);
  expect_oracle(*t, kFullSplit99);
  // By path as well as by name.
  ASSERT_NE(t->find("evt/I16"), nullptr);
  EXPECT_EQ(t->find("evt/I16"), t->find("I16"));
  ASSERT_NE(t->find("evt/P3/P3.Px"), nullptr);
  EXPECT_EQ(t->find("evt/P3/P3.Px"), t->find("P3.Px"));
  // The parent object branches hold no values of their own.
  EXPECT_FALSE(interpret(*t, *t->find("evt")).supported());

  Column arr = read_all(*t, "ArrayI16[10]");
  EXPECT_EQ(arr.dtype, DType::kInt16);
  EXPECT_EQ(arr.shape, std::vector<int>{10});
  EXPECT_EQ(arr.value_count(), 1000);
  EXPECT_EQ(arr.value<int16_t>(10 * 57 + 9), 57);
  Column slice = read_all(*t, "SliceI16");
  EXPECT_EQ(slice.dtype, DType::kInt16);
  ASSERT_EQ(slice.offsets.size(), 1u);
  Column n = read_all(*t, "N");
  for (int64_t i = 0; i < 100; ++i)
    ASSERT_EQ(slice.offsets[0][i + 1] - slice.offsets[0][i], n.value<int32_t>(i)) << i;
  Column vec = read_all(*t, "StlVecI16");
  EXPECT_EQ(vec.dtype, DType::kInt16);
  EXPECT_EQ(vec.offsets, slice.offsets);
  EXPECT_EQ(vec.values, slice.values);
  Column std_str = read_all(*t, "StdStr");
  EXPECT_EQ(std_str.dtype, DType::kChar);
  EXPECT_EQ(string_at(std_str, 42), "std-042");
  Column str = read_all(*t, "Str");
  EXPECT_EQ(string_at(str, 42), "evt-042");
  Column vstr = read_all(*t, "StlVecStr");
  ASSERT_EQ(vstr.offsets.size(), 2u);
  EXPECT_EQ(vstr.offsets[0], slice.offsets[0]);
  EXPECT_EQ(string_at(vstr, vstr.offsets[0][42]), "vec-042");
  Column u64 = read_all(*t, "U64");
  EXPECT_EQ(u64.dtype, DType::kUInt64);
  EXPECT_EQ(u64.value<uint64_t>(99), 99u);
}

TEST(ReaderNested, VectorsOfEveryTypeInASubdirectory) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-issue38a.root", "ntupler/tree");
  EXPECT_EQ(t->path(), "ntupler/tree");
  expect_oracle(*t, kIssue38a);
  struct Want {
    const char* name;
    DType dtype;
    int64_t items;
  };
  const Want wants[] = {{"v_int16", DType::kInt16, 3},   {"v_int32", DType::kInt32, 3},
                        {"v_int64", DType::kInt64, 3},   {"v_uint16", DType::kUInt16, 3},
                        {"v_uint32", DType::kUInt32, 3}, {"v_uint64", DType::kUInt64, 3},
                        {"v_bool", DType::kBool, 2},     {"v_float", DType::kFloat32, 2},
                        {"v_double", DType::kFloat64, 2}};
  for (const auto& w : wants) {
    SCOPED_TRACE(w.name);
    Column c = read_all(*t, w.name);
    EXPECT_EQ(c.dtype, w.dtype);
    ASSERT_EQ(c.offsets.size(), 1u);
    EXPECT_EQ(c.offsets[0], (std::vector<int64_t>{0, w.items}));
  }
  EXPECT_EQ(read_all(*t, "v_uint64").value<uint64_t>(2), 3u);
  EXPECT_EQ(read_all(*t, "v_float").value<float>(1), -999.0f);
}

// What "has no branch" errors suggest: near misses first, then names that contain the one given.
TEST(ReaderNames, SimilarBranchNamesForAMisspelledOne) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ.root", "events");
  EXPECT_EQ(t->similar_names("NJets"), "; did you mean 'NJet'?");
  EXPECT_EQ(t->similar_names("muon_px"), "; did you mean 'Muon_Px', 'Muon_Py' or 'Muon_Pz'?");
  EXPECT_EQ(t->similar_names("Muon_P"), "; did you mean 'Muon_Px', 'Muon_Py', 'Muon_Pz' or 'Muon_E'?");
  // At most five, and how many more.
  EXPECT_EQ(t->similar_names("Jet"), "; did you mean 'NJet', 'Jet_Px', 'Jet_Py', 'Jet_Pz' or 'Jet_E' (or 2 more)?");
  EXPECT_EQ(t->similar_names("zzz"), "");
  EXPECT_EQ(t->similar_names(""), "");
}


TEST(ReaderNested, SimpleTree) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-simple.root", "tree");
  expect_oracle(*t, kSimple);
  EXPECT_EQ(read_all(*t, "one").dtype, DType::kInt32);
  EXPECT_EQ(read_all(*t, "two").dtype, DType::kFloat32);
  Column three = read_all(*t, "three");
  EXPECT_EQ(three.dtype, DType::kChar);
  EXPECT_EQ(string_at(three, 3), "quatro");
  EXPECT_EQ(three.offsets[0], (std::vector<int64_t>{0, 3, 6, 10, 16}));
}

// ---------------------------------------------------------------------------------------------
// Packed floating point: Double32_t and Float16_t.

TEST(ReaderPacked, DemoDouble32MatchesOracle) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-demo-double32.root", "T");
  // jsroot multiplies by 1/factor where ROOT divides by factor: the last bit may differ.
  expect_oracle(*t, kDouble32Head, 1e-15);
  expect_oracle(*t, kDouble32Mid, 1e-15);
  expect_oracle(*t, kDouble32Tail, 1e-15);
  for (const BranchInfo* b : t->all_branches()) {
    Interpretation in = interpret(*t, *b);
    if (!in.supported()) continue;
    EXPECT_EQ(in.dtype, DType::kFloat64) << b->path;
  }
  // fD64 is a plain double: exact.
  EXPECT_EQ(read_all(*t, "fD64").value<double>(0), 3.139970014114631);
}

struct PackedLeaf {
  const char* name;
  int nbits;
};

double grid_step(int nbits) {
  // ROOT: factor = (nbits < 32 ? 2^nbits : 0xffffffff) / (xmax - xmin), value = stored/factor + xmin.
  const double range = 10.0 - (-2.71);
  return range / (nbits < 32 ? std::ldexp(1.0, nbits) : 4294967295.0);
}

std::vector<double> as_doubles(const Column& c) {
  std::vector<double> out;
  for (int64_t i = 0; i < c.value_count(); ++i)
    out.push_back(c.dtype == DType::kFloat32 ? c.value<float>(i) : c.value<double>(i));
  return out;
}

TEST(ReaderPacked, Double32AndFloat16LeavesAreConsistent) {
  M4H_REQUIRE_TESTDATA();
  // The oracle cannot read TLeafD32/TLeafF16; check the values against each other instead. The
  // leaves' titles are "d[-2.71,10,N]" / "f[-2.71,10,N]": range [-2.71, 10] in N bits.
  auto t = load("uproot-double32-float16.root", "tree");
  ASSERT_EQ(t->entries(), 17);
  const PackedLeaf leaves[] = {{"double32_32", 32}, {"double32_30", 30}, {"double32_20", 20},
                               {"double32_10", 10}, {"double32_5", 5},   {"double32_3", 3},
                               {"float16_16", 16},  {"float16_10", 10},  {"float16_5", 5},
                               {"float16_3", 3}};
  const std::vector<double> ref = as_doubles(read_all(*t, "double32_32"));
  ASSERT_EQ(ref.size(), 17u);
  std::map<std::string, double> worst;
  for (const auto& leaf : leaves) {
    SCOPED_TRACE(leaf.name);
    const BranchInfo* b = t->find(leaf.name);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(b->leaves.size(), 1u);
    const bool is_f16 = leaf.name[0] == 'f';
    EXPECT_EQ(b->leaves[0].title,
              std::string(is_f16 ? "f" : "d") + "[-2.71,10," + std::to_string(leaf.nbits) + "]");
    Column c = read_all(*t, leaf.name);
    EXPECT_EQ(c.dtype, is_f16 ? DType::kFloat32 : DType::kFloat64);
    std::vector<double> v = as_doubles(c);
    ASSERT_EQ(v.size(), 17u);
    const double step = grid_step(leaf.nbits);
    double w = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      EXPECT_GE(v[i], -2.71 - 1e-6) << i;
      EXPECT_LE(v[i], 10.0 + 1e-6) << i;
      // Agrees with the 32-bit value to within one quantisation step.
      EXPECT_LE(std::fabs(v[i] - ref[i]), step + grid_step(32)) << "entry " << i << ": " << v[i] << " vs " << ref[i];
      w = std::max(w, std::fabs(v[i] - ref[i]));
      // Double32 values lie on the grid xmin + k * step.
      if (!is_f16) {
        double k = (v[i] + 2.71) / step;
        EXPECT_NEAR(k, std::round(k), 1e-3) << "entry " << i;
      }
    }
    worst[leaf.name] = w;
  }
  // Fewer bits, less accuracy.
  EXPECT_LE(worst["double32_30"], worst["double32_20"]);
  EXPECT_LE(worst["double32_20"], worst["double32_10"]);
  EXPECT_LE(worst["double32_10"], worst["double32_5"]);
  EXPECT_LE(worst["double32_5"], worst["double32_3"]);
  EXPECT_LE(worst["float16_16"], worst["float16_10"]);
  EXPECT_LE(worst["float16_10"], worst["float16_5"]);
  EXPECT_LE(worst["float16_5"], worst["float16_3"]);
  EXPECT_GT(worst["double32_3"], worst["double32_30"]);
  // Float16 and Double32 with the same range and bits agree to float precision.
  for (int nbits : {10, 5, 3}) {
    auto d = as_doubles(read_all(*t, "double32_" + std::to_string(nbits)));
    auto f = as_doubles(read_all(*t, "float16_" + std::to_string(nbits)));
    for (std::size_t i = 0; i < d.size(); ++i)
      EXPECT_LE(std::fabs(d[i] - f[i]), grid_step(nbits)) << nbits << " bits, entry " << i;
  }
  // The [3] arrays: three values per entry, each as close to the 32-bit scalar as its bits allow.
  for (const auto& [name, nbits] : {std::pair<const char*, int>{"array_30", 30}, {"array_10", 10}}) {
    SCOPED_TRACE(name);
    Column c = read_all(*t, name);
    EXPECT_EQ(c.shape, std::vector<int>{3});
    EXPECT_EQ(c.dtype, nbits == 30 ? DType::kFloat64 : DType::kFloat32);
    auto v = as_doubles(c);
    ASSERT_EQ(v.size(), 51u);
    for (std::size_t i = 0; i < v.size(); ++i)
      EXPECT_LE(std::fabs(v[i] - ref[i / 3]), grid_step(nbits) + grid_step(32)) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Special files.

TEST(ReaderSpecial, LargeFileHeaderAndKeys) {
  M4H_REQUIRE_TESTDATA();
  auto f = open_data("uproot-issue412.root");
  EXPECT_TRUE(f->header().large());
  EXPECT_GE(f->header().version, 1000000);
  auto t = Tree::load(f, "test");
  ASSERT_EQ(t->entries(), 1000000);
  Column b1 = read_all(*t, "b1");
  Column b2 = read_all(*t, "b2");
  ASSERT_EQ(b1.dtype, DType::kInt64);
  ASSERT_EQ(b2.dtype, DType::kBool);
  ASSERT_EQ(b1.entries, 1000000);
  // Oracle values.
  const std::pair<int64_t, int64_t> points[] = {{0, 75},        {1, 50},       {2, 243},     {9998, 225},
                                                {9999, 125},    {10000, 266},  {10001, 298}, {99999, 296},
                                                {100000, 201},  {500000, 261}, {500001, 260}, {999999, 272}};
  for (auto [i, v] : points) EXPECT_EQ(b1.value<int64_t>(i), v) << "entry " << i;
  int64_t sum = 0, trues = 0;
  for (int64_t i = 0; i < b1.entries; ++i) sum += b1.value<int64_t>(i);
  for (int64_t i = 0; i < b2.entries; ++i) trues += b2.value<uint8_t>(i);
  EXPECT_EQ(sum, 152108052);
  EXPECT_EQ(trues, 333756);
  EXPECT_EQ(b2.value<uint8_t>(2), 1);
  EXPECT_EQ(b2.value<uint8_t>(500000), 1);
  expect_oracle(*t, kIssue412Boundary);
}

TEST(ReaderSpecial, Root4FileWithBasketsInsideTheTree) {
  M4H_REQUIRE_TESTDATA();
  auto f = open_data("uproot-from-geant4.root");
  EXPECT_EQ(f->header().version % 1000000, 40000);
  EXPECT_EQ(tree_paths(*f), (std::vector<std::string>{"Details", "HitStrips", "GeneratedTracks", "TrackedRays"}));
  for (const char* name : {"Details", "HitStrips", "GeneratedTracks", "TrackedRays"}) {
    auto t = Tree::load(f, name);
    for (const BranchInfo* b : t->all_branches())
      for (const BasketRef& k : b->baskets) {
        EXPECT_EQ(k.seek, 0) << name << "/" << b->path;
        EXPECT_NE(k.embedded, nullptr) << name << "/" << b->path;
      }
  }
  expect_oracle(*Tree::load(f, "Details"), kG4Details);
  expect_oracle(*Tree::load(f, "HitStrips"), kG4HitStripsHead);
  expect_oracle(*Tree::load(f, "HitStrips"), kG4HitStripsTail);
  expect_oracle(*Tree::load(f, "GeneratedTracks"), kG4Generated);
  expect_oracle(*Tree::load(f, "TrackedRays"), kG4TrackedTail);
}

TEST(ReaderSpecial, MillionFloatsPartlyEmbedded) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-issue79.root", "taus");
  ASSERT_EQ(t->entries(), 1000000);
  const BranchInfo* b = t->find("pt");
  ASSERT_NE(b, nullptr);
  int64_t covered = 0, embedded = 0;
  for (const BasketRef& k : b->baskets) {
    covered += k.entries;
    embedded += k.embedded != nullptr;
  }
  EXPECT_EQ(covered, 1000000);
  EXPECT_GE(embedded, 1);
  Column pt = read_all(*t, "pt");
  ASSERT_EQ(pt.dtype, DType::kFloat32);
  ASSERT_EQ(pt.value_count(), 1000000);
  const std::pair<int64_t, float> points[] = {{0, 26.47025f},      {1, 21.148115f},     {123456, 26.64956f},
                                              {123457, 41.977425f}, {500000, 24.177794f}, {500001, 72.0729f},
                                              {999998, 54.309746f}, {999999, 29.212915f}};
  for (auto [i, v] : points) EXPECT_EQ(pt.value<float>(i), v) << "entry " << i;
  double sum = 0;
  for (int64_t i = 0; i < pt.entries; ++i) sum += pt.value<float>(i);
  // Oracle: sum of Math.fround(value) in entry order.
  EXPECT_NEAR(sum, 42329647.881988525, 1e-6);
  expect_oracle(*t, kIssue79Boundary);
}

TEST(ReaderSpecial, BasketsWithAndWithoutEntryOffsetsGiveTheSameData) {
  M4H_REQUIRE_TESTDATA();
  auto with = load("uproot-small-dy-withoffsets.root", "tree");
  auto without = load("uproot-small-dy-nooffsets.root", "tree");
  EXPECT_EQ(with->entries(), 501);
  expect_same_tree(*with, *without);
  EXPECT_EQ(read_every_branch(*without).size(), 8u);
  expect_oracle(*with, kDyHead);
  expect_oracle(*with, kDyTail);
  expect_oracle(*without, kDyHead);
  expect_oracle(*without, kDyTail);
  // Oracle totals over the whole tree.
  for (const Tree* t : {with.get(), without.get()}) {
    SCOPED_TRACE(t->file().url());
    Column jet_pt = read_all(*t, "Jet_pt");
    EXPECT_EQ(jet_pt.value_count(), 2165);
    double s = 0;
    for (float v : values_of<float>(jet_pt)) s += v;
    EXPECT_DOUBLE_EQ(s, 68349.8125);
    Column jet_id = read_all(*t, "Jet_jetId");
    int64_t si = 0;
    for (int32_t v : values_of<int32_t>(jet_id)) si += v;
    EXPECT_EQ(si, 6224);
    Column mu = read_all(*t, "Muon_charge");
    EXPECT_EQ(mu.value_count(), 302);
    si = 0;
    for (int32_t v : values_of<int32_t>(mu)) si += v;
    EXPECT_EQ(si, 20);
    Column ev = read_all(*t, "event");
    EXPECT_EQ(ev.dtype, DType::kUInt64);
    uint64_t su = 0;
    for (uint64_t v : values_of<uint64_t>(ev)) su += v;
    EXPECT_EQ(su, 20843213615u);
  }
}

TEST(ReaderSpecial, ManyTinyBaskets) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-issue-750.root", "tout");
  ASSERT_EQ(t->entries(), 312);
  for (const BranchInfo* b : t->all_branches()) {
    EXPECT_GT(b->baskets.size(), 100u) << b->path;
    int64_t next = 0;
    for (const BasketRef& k : b->baskets) {
      if (k.entries == 0) continue;
      EXPECT_EQ(k.first_entry, next) << b->path;
      next = k.first_entry + k.entries;
    }
    EXPECT_EQ(next, 312) << b->path;
  }
  expect_oracle(*t, k750Head);
  expect_oracle(*t, k750Tail);
  // Oracle sums over all 312 entries (added in entry order).
  const std::pair<const char*, double> sums[] = {
      {"Muon_pt", 20212.70074081421},       {"Electron_pt", 21389.50650024414},
      {"Jet_pt", 24741.421875},             {"Jet_mass", 3651.001953125},
      {"mu_e_inv_mass", 41927.72912566385}, {"leading_lepton_pt", 25822.579372406006}};
  for (auto [name, want] : sums) {
    double s = 0;
    for (double v : values_of<double>(read_all(*t, name))) s += v;
    EXPECT_NEAR(s, want, 1e-9 * want) << name;
  }
  const std::pair<const char*, int64_t> isums[] = {{"N_jet_loose", 1243}, {"N_jet_tight", 354}, {"N_jet_medium", 490}};
  for (auto [name, want] : isums) {
    int64_t s = 0;
    for (int32_t v : values_of<int32_t>(read_all(*t, name))) s += v;
    EXPECT_EQ(s, want) << name;
  }
}

TEST(ReaderSpecial, EmptyTree) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-empty.root", "tree");
  EXPECT_EQ(t->entries(), 0);
  const std::pair<const char*, DType> types[] = {{"x", DType::kInt32}, {"y", DType::kFloat64}, {"z", DType::kChar}};
  for (auto [name, dtype] : types) {
    SCOPED_TRACE(name);
    Column c = read_all(*t, name);
    EXPECT_EQ(c.dtype, dtype);
    EXPECT_EQ(c.entries, 0);
    EXPECT_TRUE(c.values.empty());
    for (const auto& off : c.offsets) EXPECT_EQ(off, std::vector<int64_t>{0});
  }
  EXPECT_EQ(read_all(*t, "z").offsets.size(), 1u);
  // Chunked iteration over nothing yields nothing.
  std::vector<BranchRequest> reqs{{t->find("x"), interpret(*t, *t->find("x"))}};
  ChunkIterator it(*t, reqs, 10, 0, 0, nullptr);
  int64_t s = 0, e = 0;
  std::vector<Column> cols;
  EXPECT_FALSE(it.next(s, e, cols));
}

TEST(ReaderSpecial, NestedDirectories) {
  M4H_REQUIRE_TESTDATA();
  auto f = open_data("uproot-nesteddirs.root");
  EXPECT_EQ(tree_paths(*f), (std::vector<std::string>{"one/two/tree", "one/tree", "three/tree"}));
  std::vector<std::string> listed;
  for (const auto& e : f->list_recursive()) listed.push_back(e.path);
  EXPECT_EQ(listed, (std::vector<std::string>{"one", "one/two", "one/two/tree", "one/tree", "three", "three/tree"}));
  for (const char* path : {"one/two/tree", "one/two/tree;1", "/one/two/tree"}) {
    SCOPED_TRACE(path);
    auto t = Tree::load(f, path);
    EXPECT_EQ(t->path(), "one/two/tree");
    EXPECT_EQ(t->entries(), 100);
    expect_oracle(*t, kNestedTail);
  }
  for (const char* path : {"one/tree", "one/tree;1"}) {
    SCOPED_TRACE(path);
    expect_oracle(*Tree::load(f, path), kNestedOneTree);
  }
  expect_oracle(*Tree::load(f, "three/tree;1"), kNestedThree);
  Key k = f->find("one/two;1");
  EXPECT_TRUE(k.is_directory());
  // A cycle that does not exist.
  Error e = error_of([&] { Tree::load(f, "one/two/tree;2"); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
}

TEST(ReaderSpecial, TNtuple) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-hepdata-example.root", "ntuple");
  EXPECT_EQ(t->class_name(), "TNtuple");
  EXPECT_EQ(t->entries(), 75000);
  auto cols = read_every_branch(*t);
  ASSERT_EQ(cols.size(), 5u);
  for (const auto& [name, c] : cols) {
    EXPECT_EQ(c.dtype, DType::kFloat32) << name;
    EXPECT_EQ(c.value_count(), 75000) << name;
  }
  expect_oracle(*t, kHepHead);
  expect_oracle(*t, kHepTail);
  const Column& i = cols.at("i");
  double si = 0;
  for (int64_t k = 0; k < 75000; ++k) {
    ASSERT_EQ(i.value<float>(k), static_cast<float>(k));
    si += i.value<float>(k);
  }
  EXPECT_EQ(si, 2812462500.0);
  EXPECT_EQ(cols.at("px").value<float>(7500), -0.35151696f);
  EXPECT_EQ(cols.at("pz").value<float>(7500), 1.2099661f);
  double spx = 0;
  for (float v : values_of<float>(cols.at("px"))) spx += v;
  EXPECT_NEAR(spx, -88.74784843440284, 1e-9);  // oracle: sum of Math.fround(px)
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ReaderErrors, UnknownTreeListsTheDirectory) {
  M4H_REQUIRE_TESTDATA();
  auto f = open_data("uproot-HZZ.root");
  Error e = error_of([&] { Tree::load(f, "no_such_tree"); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  std::string what = e.what();
  EXPECT_NE(what.find("no_such_tree"), std::string::npos) << what;
  EXPECT_NE(what.find("events"), std::string::npos) << what;
  EXPECT_NE(what.find("uproot-HZZ.root"), std::string::npos) << what;

  auto nested = open_data("uproot-nesteddirs.root");
  Error e2 = error_of([&] { Tree::load(nested, "one/nope"); });
  EXPECT_EQ(e2.code(), ErrorCode::kNotFound);
  std::string what2 = e2.what();
  EXPECT_NE(what2.find("nope"), std::string::npos) << what2;
  EXPECT_NE(what2.find("two"), std::string::npos) << what2;   // one/ holds two and tree
  EXPECT_NE(what2.find("tree"), std::string::npos) << what2;
  Error e3 = error_of([&] { Tree::load(nested, "four/tree"); });
  EXPECT_EQ(e3.code(), ErrorCode::kNotFound);
  EXPECT_NE(std::string(e3.what()).find("three"), std::string::npos) << e3.what();
}

TEST(ReaderErrors, UnknownBranchAndWrongObjects) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-HZZ.root", "events");
  EXPECT_EQ(t->find("no_such_branch"), nullptr);
  EXPECT_EQ(t->find(""), nullptr);
  EXPECT_NE(t->find("NJet"), nullptr);
  // A histogram is not a tree.
  auto f = open_data("uproot-hepdata-example.root");
  Error e = error_of([&] { Tree::load(f, "hpx"); });
  EXPECT_NE(e.code(), ErrorCode::kNotFound) << e.what();
  EXPECT_NE(std::string(e.what()).find("TH1F"), std::string::npos) << e.what();
  // Missing file; a file that is not ROOT.
  Error missing = error_of([] { File::open(test::testdata_file("no-such-file.root")); });
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound) << missing.what();
  Error not_root = error_of([] { File::open(test::testdata_file("MANIFEST.md")); });
  EXPECT_EQ(not_root.code(), ErrorCode::kCorrupt) << not_root.what();
}

TEST(ReaderErrors, RangesBeyondTheTree) {
  M4H_REQUIRE_TESTDATA();
  auto t = load("uproot-simple.root", "tree");
  const BranchInfo* one = t->find("one");
  // [stop, stop) is empty; a range running past the end is cut at the end.
  Column empty = read_branch(*t, *one, 4, 4);
  EXPECT_EQ(empty.entries, 0);
  Column tail = read_branch(*t, *one, 2, 100);
  EXPECT_EQ(tail.entries, 2);
  EXPECT_EQ(values_of<int32_t>(tail), (std::vector<int32_t>{3, 4}));
}

}  // namespace
}  // namespace m4h::root

// Regression: baskets of different branches were grouped into one decoding task when a branch's
// first basket was empty (embedded baskets of zero bytes in NanoAOD), so reading many branches at
// once returned one branch's entries several times.
TEST(ReaderTogether, ManyBranchesAtOnceEqualOneByOne) {
  M4H_REQUIRE_TESTDATA();
  for (const char* name : {"nanoAOD_2015_CMS_Open_Data_ttbar.root", "uproot-issue-750.root",
                           "uproot-sample-6.20.04-zlib.root"}) {
    auto file = m4h::root::File::open(m4h::test::testdata_file(name));
    auto tree = m4h::root::Tree::load(file, m4h::root::tree_paths(*file).at(0));
    std::vector<m4h::root::BranchRequest> requests;
    for (const auto* b : tree->all_branches()) {
      auto in = m4h::root::interpret(*tree, *b);
      if (in.supported()) requests.push_back({b, std::move(in)});
    }
    m4h::ThreadPool pool(2);
    auto together = m4h::root::read_branches(*tree, requests, 0, tree->entries(), &pool);
    ASSERT_EQ(together.size(), requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto alone = m4h::root::read_branch(*tree, *requests[i].branch, 0, tree->entries());
      EXPECT_TRUE(together[i] == alone) << name << ": " << requests[i].branch->path;
    }
  }
}
