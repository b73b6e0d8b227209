#include "gen/event_generator.h"

#include "core/thread_pool.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/error.h"

namespace m4h::gen {

namespace {

using root::BranchSpec;
using root::Column;
using root::DType;
using Kind = BranchSpec::Kind;

// xoshiro256** seeded through splitmix64: small, fast and the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) s = splitmix(seed);
  }
  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal(double mean, double sigma) {  // Box-Muller
    double u1 = 1.0 - uniform(), u2 = uniform();
    return mean + sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  int poisson(double lambda) {  // Knuth; lambda is small here
    double limit = std::exp(-lambda), p = 1.0;
    int k = 0;
    do {
      ++k;
      p *= uniform();
    } while (p > limit);
    return k - 1;
  }

  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

struct Jet {
  float pt, eta, phi, mass, btag;
};

struct Lepton {
  float pt, eta, phi;
  int32_t charge;
};

struct Event {
  std::vector<Jet> jets;
  std::vector<Lepton> muons, electrons;
  float met_pt, met_phi, ht, mbb;
  int32_t nbjet;
};

double central_eta(Rng& r, double sigma) {
  for (;;) {
    double eta = r.normal(0, sigma);
    if (std::fabs(eta) < 2.4) return eta;
  }
}

double wrap_phi(double phi) {
  while (phi > std::numbers::pi) phi -= 2 * std::numbers::pi;
  while (phi <= -std::numbers::pi) phi += 2 * std::numbers::pi;
  return phi;
}

// b-tag discriminant: b jets near 1, light jets near 0, with tails that overlap.
float btag_score(Rng& r, bool is_b) {
  double v = is_b ? 1.0 - r.exponential(0.15) : r.exponential(0.1);
  return static_cast<float>(std::clamp(v, 0.0, 1.0));
}

Jet make_jet(Rng& r, double pt_mean, bool is_b) {
  Jet j;
  j.pt = static_cast<float>(25.0 + r.exponential(pt_mean));
  j.eta = static_cast<float>(central_eta(r, 1.3));
  j.phi = static_cast<float>(r.uniform() * 2 * std::numbers::pi - std::numbers::pi);
  j.mass = static_cast<float>(j.pt * (0.08 + 0.06 * r.uniform()));
  j.btag = btag_score(r, is_b);
  return j;
}

// Two b jets from a Higgs decay: the opening angle is solved so that their (massless) invariant
// mass follows the Higgs line shape, smeared by the detector.
void add_higgs_pair(Rng& r, std::vector<Jet>& jets) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    double m = r.normal(120.0, 15.0);
    Jet a = make_jet(r, 50.0, true), b = make_jet(r, 50.0, true);
    double cosh_deta = std::cosh(static_cast<double>(a.eta) - b.eta);
    double cos_dphi = cosh_deta - m * m / (2.0 * a.pt * b.pt);
    if (m <= 0 || cos_dphi < -1.0 || cos_dphi > 1.0) continue;
    double dphi = std::acos(cos_dphi) * (r.uniform() < 0.5 ? 1 : -1);
    b.phi = static_cast<float>(wrap_phi(a.phi + dphi));
    jets.push_back(a);
    jets.push_back(b);
    return;
  }
  jets.push_back(make_jet(r, 50.0, true));
  jets.push_back(make_jet(r, 50.0, true));
}

float pair_mass(const Jet& a, const Jet& b) {
  auto px = [](const Jet& j) { return j.pt * std::cos(j.phi); };
  auto py = [](const Jet& j) { return j.pt * std::sin(j.phi); };
  auto pz = [](const Jet& j) { return j.pt * std::sinh(j.eta); };
  auto e = [&](const Jet& j) {
    double p2 = double(j.pt) * j.pt * std::cosh(j.eta) * std::cosh(j.eta);
    return std::sqrt(p2 + double(j.mass) * j.mass);
  };
  double E = e(a) + e(b), X = px(a) + px(b), Y = py(a) + py(b), Z = pz(a) + pz(b);
  return static_cast<float>(std::sqrt(std::max(0.0, E * E - X * X - Y * Y - Z * Z)));
}

Event make_event(Process process, uint64_t seed, int64_t index) {
  uint64_t key = seed * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull ^
                 (process == Process::kSignal ? 0x5157AB1Eull : 0xBAC6600Dull);
  Rng r(Rng::splitmix(key));
  Event ev;
  const bool signal = process == Process::kSignal;
  // ttbar: two b jets and light jets from a W; ttH adds a b pair from the Higgs. b jets are
  // lost to acceptance and tagging, and extra radiation adds light jets to both.
  int light = 2 + r.poisson(signal ? 1.2 : 1.5);
  for (int i = 0; i < 2; ++i)
    ev.jets.push_back(make_jet(r, 55.0, r.uniform() < 0.85));
  for (int i = 0; i < light; ++i) ev.jets.push_back(make_jet(r, 35.0, r.uniform() < 0.04));
  if (signal && r.uniform() < 0.8) add_higgs_pair(r, ev.jets);
  if (!signal && r.uniform() < 0.25) {  // ttbb background: two extra b jets, no mass peak
    ev.jets.push_back(make_jet(r, 40.0, true));
    ev.jets.push_back(make_jet(r, 40.0, true));
  }
  std::sort(ev.jets.begin(), ev.jets.end(), [](const Jet& a, const Jet& b) { return a.pt > b.pt; });

  // One leptonic W: a muon or an electron, sometimes out of acceptance; a few fakes.
  auto lepton = [&r] {
    Lepton l;
    l.pt = static_cast<float>(20.0 + r.exponential(30.0));
    l.eta = static_cast<float>(central_eta(r, 1.1));
    l.phi = static_cast<float>(r.uniform() * 2 * std::numbers::pi - std::numbers::pi);
    l.charge = r.uniform() < 0.5 ? -1 : 1;
    return l;
  };
  double which = r.uniform();
  if (which < 0.45) ev.muons.push_back(lepton());
  else if (which < 0.9) ev.electrons.push_back(lepton());
  if (r.uniform() < 0.05) ev.muons.push_back(lepton());
  if (r.uniform() < 0.05) ev.electrons.push_back(lepton());

  ev.met_pt = static_cast<float>(r.exponential(signal ? 60.0 : 55.0) + 5.0);
  ev.met_phi = static_cast<float>(r.uniform() * 2 * std::numbers::pi - std::numbers::pi);
  ev.ht = 0;
  ev.nbjet = 0;
  for (const auto& j : ev.jets) {
    ev.ht += j.pt;
    if (j.btag > 0.5f) ++ev.nbjet;
  }
  // The two most b-like jets.
  ev.mbb = 0;
  if (ev.jets.size() >= 2) {
    std::vector<std::size_t> idx(ev.jets.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + 2, idx.end(),
                      [&](std::size_t a, std::size_t b) { return ev.jets[a].btag > ev.jets[b].btag; });
    ev.mbb = pair_mass(ev.jets[idx[0]], ev.jets[idx[1]]);
  }
  return ev;
}

// Column builders.
template <typename T>
void push(Column& c, T v) {
  std::size_t at = c.values.size();
  c.values.resize(at + sizeof(T));
  std::memcpy(c.values.data() + at, &v, sizeof(T));
}

Column flat(DType t) {
  Column c;
  c.dtype = t;
  return c;
}

Column jagged(DType t) {
  Column c;
  c.dtype = t;
  c.offsets.push_back({0});
  return c;
}

template <typename T, typename Item, typename Get>
void fill_jagged(Column& c, const std::vector<Item>& items, Get get) {
  for (const auto& it : items) push<T>(c, get(it));
  c.offsets[0].push_back(c.offsets[0].back() + static_cast<int64_t>(items.size()));
}

}  // namespace

std::vector<BranchSpec> event_branches(Layout layout) {
  const bool nano = layout == Layout::kNanoAOD;
  auto arr = [&](const std::string& name, DType t, const std::string& counter) {
    return nano ? BranchSpec{name, t, Kind::kCounted, {}, counter} : BranchSpec{name, t, Kind::kVector, {}, ""};
  };
  return {
      {"run", DType::kUInt32, Kind::kScalar, {}, ""},
      {"luminosityBlock", DType::kUInt32, Kind::kScalar, {}, ""},
      {"event", DType::kUInt64, Kind::kScalar, {}, ""},
      {"nJet", DType::kInt32, Kind::kScalar, {}, ""},
      arr("Jet_pt", DType::kFloat32, "nJet"),
      arr("Jet_eta", DType::kFloat32, "nJet"),
      arr("Jet_phi", DType::kFloat32, "nJet"),
      arr("Jet_mass", DType::kFloat32, "nJet"),
      arr("Jet_btagDeepB", DType::kFloat32, "nJet"),
      {"nMuon", DType::kInt32, Kind::kScalar, {}, ""},
      arr("Muon_pt", DType::kFloat32, "nMuon"),
      arr("Muon_eta", DType::kFloat32, "nMuon"),
      arr("Muon_phi", DType::kFloat32, "nMuon"),
      arr("Muon_charge", DType::kInt32, "nMuon"),
      {"nElectron", DType::kInt32, Kind::kScalar, {}, ""},
      arr("Electron_pt", DType::kFloat32, "nElectron"),
      arr("Electron_eta", DType::kFloat32, "nElectron"),
      arr("Electron_phi", DType::kFloat32, "nElectron"),
      arr("Electron_charge", DType::kInt32, "nElectron"),
      {"MET_pt", DType::kFloat32, Kind::kScalar, {}, ""},
      {"MET_phi", DType::kFloat32, Kind::kScalar, {}, ""},
      {"HT", DType::kFloat32, Kind::kScalar, {}, ""},
      {"nBJet", DType::kInt32, Kind::kScalar, {}, ""},
      {"mbb", DType::kFloat32, Kind::kScalar, {}, ""},
  };
}

std::vector<Column> generate_chunk(Process process, Layout layout, uint64_t seed, int64_t first,
                                   int64_t n) {
  Column run = flat(DType::kUInt32), lumi = flat(DType::kUInt32), event = flat(DType::kUInt64);
  Column njet = flat(DType::kInt32), nmu = flat(DType::kInt32), nel = flat(DType::kInt32);
  Column jpt = jagged(DType::kFloat32), jeta = jagged(DType::kFloat32), jphi = jagged(DType::kFloat32),
         jmass = jagged(DType::kFloat32), jbtag = jagged(DType::kFloat32);
  Column mpt = jagged(DType::kFloat32), meta = jagged(DType::kFloat32), mphi = jagged(DType::kFloat32),
         mq = jagged(DType::kInt32);
  Column ept = jagged(DType::kFloat32), eeta = jagged(DType::kFloat32), ephi = jagged(DType::kFloat32),
         eq = jagged(DType::kInt32);
  Column met = flat(DType::kFloat32), metphi = flat(DType::kFloat32), ht = flat(DType::kFloat32),
         nb = flat(DType::kInt32), mbb = flat(DType::kFloat32);
  for (int64_t i = first; i < first + n; ++i) {
    Event ev = make_event(process, seed, i);
    push<uint32_t>(run, 1);
    push<uint32_t>(lumi, static_cast<uint32_t>(i / 1000 + 1));
    push<uint64_t>(event, static_cast<uint64_t>(i + 1));
    push<int32_t>(njet, static_cast<int32_t>(ev.jets.size()));
    fill_jagged<float>(jpt, ev.jets, [](const Jet& j) { return j.pt; });
    fill_jagged<float>(jeta, ev.jets, [](const Jet& j) { return j.eta; });
    fill_jagged<float>(jphi, ev.jets, [](const Jet& j) { return j.phi; });
    fill_jagged<float>(jmass, ev.jets, [](const Jet& j) { return j.mass; });
    fill_jagged<float>(jbtag, ev.jets, [](const Jet& j) { return j.btag; });
    push<int32_t>(nmu, static_cast<int32_t>(ev.muons.size()));
    fill_jagged<float>(mpt, ev.muons, [](const Lepton& l) { return l.pt; });
    fill_jagged<float>(meta, ev.muons, [](const Lepton& l) { return l.eta; });
    fill_jagged<float>(mphi, ev.muons, [](const Lepton& l) { return l.phi; });
    fill_jagged<int32_t>(mq, ev.muons, [](const Lepton& l) { return l.charge; });
    push<int32_t>(nel, static_cast<int32_t>(ev.electrons.size()));
    fill_jagged<float>(ept, ev.electrons, [](const Lepton& l) { return l.pt; });
    fill_jagged<float>(eeta, ev.electrons, [](const Lepton& l) { return l.eta; });
    fill_jagged<float>(ephi, ev.electrons, [](const Lepton& l) { return l.phi; });
    fill_jagged<int32_t>(eq, ev.electrons, [](const Lepton& l) { return l.charge; });
    push<float>(met, ev.met_pt);
    push<float>(metphi, ev.met_phi);
    push<float>(ht, ev.ht);
    push<int32_t>(nb, ev.nbjet);
    push<float>(mbb, ev.mbb);
  }
  std::vector<Column> cols = {run, lumi, event, njet, jpt, jeta, jphi, jmass, jbtag, nmu, mpt, meta, mphi,
                              mq, nel, ept, eeta, ephi, eq, met, metphi, ht, nb, mbb};
  for (auto& c : cols) c.entries = n;
  (void)layout;  // both layouts take the same columns; only the branch kinds differ
  return cols;
}

GeneratorResult generate_events(const GeneratorOptions& o) {
  if (o.events < 0) throw Error(ErrorCode::kInvalidArgument, "gen: --events must be >= 0");
  if (o.basket_size < 16) throw Error(ErrorCode::kInvalidArgument, "gen: --basket-size must be >= 16 bytes");
  if (o.output.empty()) throw Error(ErrorCode::kInvalidArgument, "gen: an output file (-o) is required");
  // ROOT keeps the level in fCompress % 100 and its codecs clamp it to 9; a level outside 0-9
  // would be recorded in the file header but not applied, so refuse it.
  if (o.compression.codec != root::Codec::kNone && (o.compression.level < 0 || o.compression.level > 9))
    throw Error(ErrorCode::kInvalidArgument,
                "gen: --level must be 0-9 (0 = uncompressed), not " + std::to_string(o.compression.level));
  if (o.threads < 0) throw Error(ErrorCode::kInvalidArgument, "gen: --threads must be >= 0");
  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
  root::FileWriter file(o.output, o.compression);
  root::TreeWriter tree(file, "Events",
                        o.process == Process::kSignal ? "ttH(bb) signal (mlaas4hep gen)"
                                                      : "ttbar background (mlaas4hep gen)",
                        event_branches(o.layout), {o.basket_size, 0, pool.get()});
  GeneratorResult result;
  const int64_t chunk = std::max<int64_t>(1, o.chunk_size);
  for (int64_t first = 0; first < o.events; first += chunk) {
    int64_t n = std::min(chunk, o.events - first);
    auto cols = generate_chunk(o.process, o.layout, o.seed, first, n);
    for (const auto& c : cols) result.uncompressed_bytes += c.values.size();
    tree.append(cols);
  }
  tree.close();
  file.close();
  result.events = o.events;
  struct stat st {};
  if (::stat(o.output.c_str(), &st) == 0) result.file_bytes = static_cast<uint64_t>(st.st_size);
  return result;
}

Process parse_process(const std::string& s) {
  if (s == "signal") return Process::kSignal;
  if (s == "background") return Process::kBackground;
  throw Error(ErrorCode::kInvalidArgument, "gen: --process must be signal or background, not '" + s + "'");
}

Layout parse_layout(const std::string& s) {
  if (s == "nanoaod") return Layout::kNanoAOD;
  if (s == "vector") return Layout::kVector;
  throw Error(ErrorCode::kInvalidArgument, "gen: --layout must be nanoaod or vector, not '" + s + "'");
}

root::Codec parse_codec(const std::string& s) {
  if (s == "zlib") return root::Codec::kZlib;
  if (s == "lz4") return root::Codec::kLz4;
  if (s == "zstd") return root::Codec::kZstd;
  if (s == "lzma") return root::Codec::kLzma;
  if (s == "none") return root::Codec::kNone;
  throw Error(ErrorCode::kInvalidArgument, "gen: --codec must be zlib, lz4, zstd, lzma or none, not '" + s + "'");
}

}  // namespace m4h::gen
