#include "core/suggest.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <utility>

namespace m4h {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edits (insert, delete, replace, swap of two neighbours: "trian" is one from "train") that turn
// a into b, or limit + 1 once past the limit.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    std::size_t best = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = std::min(row[j], before[j - 2] + 1);
      best = std::min(best, row[j]);
    }
    if (best > limit) return limit + 1;
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  const std::string wanted = lower(name);
  if (wanted.empty()) return {};
  const std::size_t limit = std::max<std::size_t>(1, wanted.size() / 4);
  std::vector<std::pair<std::size_t, std::string_view>> close;  // (rank, name)
  for (std::string_view c : candidates) {
    const std::string own = lower(c);
    std::size_t d = edit_distance(wanted, own, limit);
    if (d > limit) {
      // A part of the name ("Muon_P" for Muon_Px, Muon_Py, Muon_Pz) ranks after near misses.
      if (wanted.size() < 3 || own.find(wanted) == std::string::npos) continue;
      d = limit + 1;
    }
    if (std::none_of(close.begin(), close.end(), [c](const auto& x) { return x.second == c; }))
      close.emplace_back(d, c);
  }
  std::stable_sort(close.begin(), close.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  constexpr std::size_t kMost = 5;
  const std::size_t n = std::min(close.size(), kMost);
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += i == 0 ? "; did you mean '" : i + 1 == n ? "' or '" : "', '";
    out += close[i].second;
  }
  if (n > 0) out += close.size() > n ? "' (or " + std::to_string(close.size() - n) + " more)?" : "'?";
  return out;
}

}  // namespace m4h
