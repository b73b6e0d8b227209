// Writes a NanoAOD-like tree with ~100 branches for the remote-read benchmark (bench/remote_bench.sh):
// the 24 branches of `mlaas4hep gen` (run/lumi/event, jets, muons, electrons, MET, HT, nBJet, mbb)
// plus the kind of branches a CMS NanoAOD has beside them: more jet, muon and electron attributes
// (floats, ints and bools counted by nJet/nMuon/nElectron), photons and taus with their counters,
// primary-vertex and pile-up scalars, trigger (HLT_*) and filter (Flag_*) bits. The extra values
// are deterministic functions of (seed, entry, item, branch), some derived from the physics objects.
// What matters for the benchmark is the shape: many branches of different sizes whose baskets lie
// interleaved in the file, as in real NanoAOD.
//
//   make_wide_file [--events N] [--seed S] [--codec zlib|lz4|zstd|lzma|none] [--level L]
//                  [--basket-size BYTES] [--threads K] -o FILE.root
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "gen/event_generator.h"
#include "root/file_writer.h"
#include "root/tree_writer.h"

using namespace m4h;
using root::BranchSpec;
using root::Column;
using root::DType;
using Kind = BranchSpec::Kind;

namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, branch, entry, item).
double uniform(uint64_t seed, uint64_t branch, uint64_t entry, uint64_t item) {
  uint64_t h = mix(seed ^ mix(branch * 0x100000001b3ULL ^ mix(entry ^ mix(item))));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Rounds to `bits` mantissa bits, as NanoAOD stores most floats (helps compression realistically).
float quantise(double v, int bits = 12) {
  if (v == 0 || !std::isfinite(v)) return static_cast<float>(v);
  int e;
  double m = std::frexp(v, &e);
  double scale = std::ldexp(1.0, bits);
  return static_cast<float>(std::ldexp(std::round(m * scale) / scale, e));
}

template <typename T>
void put(Column& c, T v) {
  append_bytes(c.values, reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

}  // namespace

namespace {

// One extra branch: how its values are made.
struct Extra {
  std::string name;
  DType dtype;
  std::string counter;  // "" for one value per entry
  // value(u, x): u uniform in [0,1) for this (entry, item, branch); x a related physics value
  // (the object's pt, or 0 for event-level branches).
  double lo = 0, hi = 1;
  bool from_pt = false;  // scale by the object's pt (resolutions, energies)
  int bits = 10;
};

std::vector<Extra> extra_branches() {
  std::vector<Extra> e;
  auto f = [&](std::string n, std::string counter, double lo, double hi, bool pt = false, int bits = 10) {
    e.push_back({std::move(n), DType::kFloat32, std::move(counter), lo, hi, pt, bits});
  };
  auto i = [&](std::string n, std::string counter, double lo, double hi) {
    e.push_back({std::move(n), DType::kInt32, std::move(counter), lo, hi, false, 0});
  };
  auto b = [&](std::string n, std::string counter, double p) {
    e.push_back({std::move(n), DType::kBool, std::move(counter), 0, p, false, 0});
  };
  // Jets: 18 more attributes.
  for (const char* n : {"Jet_btagDeepFlavB", "Jet_btagDeepFlavCvB", "Jet_btagDeepFlavCvL", "Jet_btagDeepFlavQG",
                        "Jet_chEmEF", "Jet_chHEF", "Jet_neEmEF", "Jet_neHEF", "Jet_muEF", "Jet_qgl"})
    f(n, "nJet", 0, 1);
  f("Jet_area", "nJet", 0.3, 0.7);
  f("Jet_rawFactor", "nJet", 0, 0.3);
  f("Jet_bRegCorr", "nJet", 0.8, 1.4);
  f("Jet_bRegRes", "nJet", 0.05, 0.3);
  i("Jet_jetId", "nJet", 0, 7);
  i("Jet_puId", "nJet", 0, 7);
  i("Jet_hadronFlavour", "nJet", 0, 6);
  i("Jet_nConstituents", "nJet", 2, 60);
  // Muons: 14 more.
  f("Muon_dxy", "nMuon", -0.05, 0.05);
  f("Muon_dxyErr", "nMuon", 0, 0.01);
  f("Muon_dz", "nMuon", -0.2, 0.2);
  f("Muon_dzErr", "nMuon", 0, 0.02);
  f("Muon_ip3d", "nMuon", 0, 0.05);
  f("Muon_sip3d", "nMuon", 0, 8);
  f("Muon_pfRelIso03_all", "nMuon", 0, 0.5);
  f("Muon_pfRelIso04_all", "nMuon", 0, 0.5);
  f("Muon_ptErr", "nMuon", 0.005, 0.05, true);
  f("Muon_mass", "nMuon", 0.1056, 0.1057);
  b("Muon_looseId", "nMuon", 0.95);
  b("Muon_mediumId", "nMuon", 0.85);
  b("Muon_tightId", "nMuon", 0.75);
  i("Muon_nTrackerLayers", "nMuon", 5, 18);
  // Electrons: 13 more.
  f("Electron_dxy", "nElectron", -0.05, 0.05);
  f("Electron_dz", "nElectron", -0.2, 0.2);
  f("Electron_sip3d", "nElectron", 0, 8);
  f("Electron_pfRelIso03_all", "nElectron", 0, 0.5);
  f("Electron_mvaFall17V2Iso", "nElectron", -1, 1);
  f("Electron_deltaEtaSC", "nElectron", -0.02, 0.02);
  f("Electron_hoe", "nElectron", 0, 0.2);
  f("Electron_r9", "nElectron", 0.5, 1);
  f("Electron_energyErr", "nElectron", 0.01, 0.05, true);
  f("Electron_mass", "nElectron", 0.000511, 0.000512);
  i("Electron_cutBased", "nElectron", 0, 5);
  b("Electron_convVeto", "nElectron", 0.95);
  b("Electron_mvaFall17V2Iso_WP90", "nElectron", 0.8);
  // Photons and taus come with counters of their own (added in make_columns).
  f("Photon_pt", "nPhoton", 15, 150);
  f("Photon_eta", "nPhoton", -2.5, 2.5);
  f("Photon_phi", "nPhoton", -3.14159, 3.14159);
  f("Photon_r9", "nPhoton", 0.5, 1);
  f("Photon_hoe", "nPhoton", 0, 0.1);
  f("Photon_pfRelIso03_all", "nPhoton", 0, 0.3);
  i("Photon_cutBased", "nPhoton", 0, 4);
  f("Tau_pt", "nTau", 20, 200);
  f("Tau_eta", "nTau", -2.3, 2.3);
  f("Tau_phi", "nTau", -3.14159, 3.14159);
  f("Tau_mass", "nTau", 0.2, 1.8);
  f("Tau_dxy", "nTau", -0.05, 0.05);
  f("Tau_dz", "nTau", -0.2, 0.2);
  i("Tau_decayMode", "nTau", 0, 12);
  // Event level: vertices, pile-up, MET variants, weights.
  i("PV_npvs", "", 5, 60);
  i("PV_npvsGood", "", 5, 55);
  f("PV_x", "", -0.02, 0.02);
  f("PV_y", "", -0.02, 0.02);
  f("PV_z", "", -10, 10);
  f("fixedGridRhoFastjetAll", "", 5, 40);
  f("Pileup_nTrueInt", "", 10, 60);
  f("MET_sumEt", "", 200, 2500, false, 14);
  f("PuppiMET_pt", "", 0, 300);
  f("PuppiMET_phi", "", -3.14159, 3.14159);
  f("genWeight", "", 0.5, 1.5);
  // Trigger and filter bits.
  for (const char* n : {"HLT_IsoMu24", "HLT_IsoMu27", "HLT_Ele32_WPTight_Gsf", "HLT_Ele35_WPTight_Gsf",
                        "HLT_Mu50", "HLT_PFHT1050", "HLT_PFMET120_PFMHT120_IDTight",
                        "HLT_PFHT380_SixPFJet32_DoublePFBTagDeepCSV_2p2", "HLT_Mu17_TrkIsoVVL_Mu8_TrkIsoVVL_DZ_Mass3p8",
                        "HLT_Ele23_Ele12_CaloIdL_TrackIdL_IsoVL"})
    b(n, "", 0.3);
  for (const char* n : {"Flag_goodVertices", "Flag_globalSuperTightHalo2016Filter", "Flag_HBHENoiseFilter",
                        "Flag_HBHENoiseIsoFilter", "Flag_EcalDeadCellTriggerPrimitiveFilter",
                        "Flag_BadPFMuonFilter", "Flag_eeBadScFilter"})
    b(n, "", 0.99);
  return e;
}

struct Options {
  int64_t events = 200000;
  uint64_t seed = 7;
  std::string codec = "zlib";
  int level = 1;
  int64_t basket_size = 32000;
  int threads = 0;
  std::string output;
};

// Jagged column of `counts` items per entry.
Column jagged(DType t, const std::vector<int32_t>& counts) {
  Column c;
  c.dtype = t;
  c.offsets.emplace_back();
  c.offsets[0].reserve(counts.size() + 1);
  c.offsets[0].push_back(0);
  for (int32_t n : counts) c.offsets[0].push_back(c.offsets[0].back() + n);
  c.entries = static_cast<int64_t>(counts.size());
  return c;
}

Column flat(DType t, int64_t n) {
  Column c;
  c.dtype = t;
  c.entries = n;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int a = 1; a < argc; ++a) {
    std::string k = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "make_wide_file: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (k == "--events") o.events = std::stoll(next());
    else if (k == "--seed") o.seed = std::stoull(next());
    else if (k == "--codec") o.codec = next();
    else if (k == "--level") o.level = std::stoi(next());
    else if (k == "--basket-size") o.basket_size = std::stoll(next());
    else if (k == "--threads") o.threads = std::stoi(next());
    else if (k == "-o" || k == "--output") o.output = next();
    else {
      std::fprintf(stderr,
                   "usage: make_wide_file [--events N] [--seed S] [--codec C] [--level L] [--basket-size B] "
                   "[--threads K] -o FILE.root\n");
      return 2;
    }
  }
  if (o.output.empty() || o.events < 0) {
    std::fprintf(stderr, "make_wide_file: -o FILE.root is required (and --events >= 0)\n");
    return 2;
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    auto specs = gen::event_branches(gen::Layout::kNanoAOD);
    const std::size_t base = specs.size();
    auto index_of = [&](const std::string& name) {
      for (std::size_t k = 0; k < specs.size(); ++k)
        if (specs[k].name == name) return k;
      throw Error(ErrorCode::kInternal, "no base branch " + name);
    };
    const std::size_t jet_pt = index_of("Jet_pt"), mu_pt = index_of("Muon_pt"), el_pt = index_of("Electron_pt");
    const auto extras = extra_branches();
    // Counters of the objects gen does not make, declared before the branches they count.
    specs.push_back({"nPhoton", DType::kInt32, Kind::kScalar, {}, ""});
    specs.push_back({"nTau", DType::kInt32, Kind::kScalar, {}, ""});
    for (const auto& x : extras)
      specs.push_back(x.counter.empty() ? BranchSpec{x.name, x.dtype, Kind::kScalar, {}, ""}
                                        : BranchSpec{x.name, x.dtype, Kind::kCounted, {}, x.counter});

    root::CompressionSettings cs{gen::parse_codec(o.codec), o.codec == "none" ? 0 : o.level};
    auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(o.threads));
    root::FileWriter file(o.output, cs);
    root::TreeWriter tree(file, "Events", "NanoAOD-like, ~100 branches (bench/remote/make_wide_file)", specs,
                          {o.basket_size, 0, pool.get()});
    const int64_t chunk = 20000;
    uint64_t value_bytes = 0;
    for (int64_t first = 0; first < o.events; first += chunk) {
      const int64_t n = std::min(chunk, o.events - first);
      auto cols = gen::generate_chunk(gen::Process::kBackground, gen::Layout::kNanoAOD, o.seed, first, n);
      std::vector<int32_t> nphoton(n), ntau(n);
      Column cph = flat(DType::kInt32, n), cta = flat(DType::kInt32, n);
      for (int64_t e = 0; e < n; ++e) {
        nphoton[e] = static_cast<int32_t>(uniform(o.seed, 1001, first + e, 0) * 4);
        ntau[e] = static_cast<int32_t>(uniform(o.seed, 1002, first + e, 0) * 3);
        put<int32_t>(cph, nphoton[e]);
        put<int32_t>(cta, ntau[e]);
      }
      cols.push_back(std::move(cph));
      cols.push_back(std::move(cta));
      for (std::size_t k = 0; k < extras.size(); ++k) {
        const Extra& x = extras[k];
        const uint64_t bid = 2000 + k;
        const Column* pt = nullptr;  // the collection's pt, for counts and pt-scaled values
        std::vector<int32_t> counts;
        if (x.counter == "nJet") pt = &cols[jet_pt];
        if (x.counter == "nMuon") pt = &cols[mu_pt];
        if (x.counter == "nElectron") pt = &cols[el_pt];
        if (pt) {
          counts.resize(n);
          for (int64_t e = 0; e < n; ++e) counts[e] = static_cast<int32_t>(pt->offsets[0][e + 1] - pt->offsets[0][e]);
        } else if (x.counter == "nPhoton") {
          counts = nphoton;
        } else if (x.counter == "nTau") {
          counts = ntau;
        }
        Column c = x.counter.empty() ? flat(x.dtype, n) : jagged(x.dtype, counts);
        for (int64_t e = 0; e < n; ++e) {
          const int64_t items = x.counter.empty() ? 1 : counts[e];
          for (int64_t j = 0; j < items; ++j) {
            const double u = uniform(o.seed, bid, first + e, j);
            double scale = 1;
            if (x.from_pt) {
              scale = pt ? pt->value<float>(pt->offsets[0][e] + j) : 20 + 200 * uniform(o.seed, bid + 500, first + e, j);
            }
            switch (x.dtype) {
              case DType::kFloat32: put<float>(c, quantise((x.lo + (x.hi - x.lo) * u) * scale, x.bits)); break;
              case DType::kInt32: put<int32_t>(c, static_cast<int32_t>(x.lo + (x.hi - x.lo + 1) * u)); break;
              case DType::kBool: put<uint8_t>(c, u < x.hi ? 1 : 0); break;
              default: throw Error(ErrorCode::kInternal, "unexpected dtype");
            }
          }
        }
        cols.push_back(std::move(c));
      }
      for (const auto& c : cols) value_bytes += c.values.size();
      tree.append(cols);
    }
    tree.close();
    file.close();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %lld events, %zu branches (%zu from gen + %zu), %.1f MB of values, %.2f s\n",
                o.output.c_str(), static_cast<long long>(o.events), specs.size(), base, specs.size() - base,
                value_bytes / 1e6, s);
  } catch (const Error& e) {
    std::fprintf(stderr, "make_wide_file: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
