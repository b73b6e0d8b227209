// The torch-free half of distributed.h: the launcher's environment and the files of each rank.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <string_view>

#include "core/error.h"
#include "train/distributed.h"

namespace m4h::train {

namespace {

int parse_count(const char* name, const char* text) {
  const std::string_view s(text);
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0)
    throw Error(ErrorCode::kInvalidArgument,
                std::string("environment: ") + name + "=\"" + text + "\" is not a count");
  return v;
}

}  // namespace

Launch launch_from_environment(const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&](const char* name) -> const char* {
    const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return v && *v ? v : nullptr;
  };
  struct Source {
    const char* rank;
    const char* size;
    const char* size_fallback;
    const char* launcher;
  };
  // An srun step sets SLURM_STEP_NUM_TASKS; a batch script (not started by srun) sees only the
  // job's SLURM_NTASKS with SLURM_PROCID=0.
  static const Source kSources[] = {
      {"RANK", "WORLD_SIZE", nullptr, "RANK/WORLD_SIZE"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", nullptr, "mpirun"},
      {"SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "srun"},
  };
  for (const Source& s : kSources) {
    const char* rank = get(s.rank);
    if (!rank) continue;
    const char* size_name = s.size;
    const char* size = get(s.size);
    if (!size && s.size_fallback) size = get(size_name = s.size_fallback);
    if (!size)
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("environment: ") + s.rank + " is set but " + s.size + " is not");
    Launch l;
    l.rank = parse_count(s.rank, rank);
    l.size = parse_count(size_name, size);
    l.launcher = s.launcher;
    if (l.size < 1 || l.rank >= l.size)
      throw Error(ErrorCode::kInvalidArgument, std::string("environment: ") + s.rank + "=" + rank +
                                                   " is not a rank of a world of " + size_name +
                                                   "=" + size);
    return l;
  }
  return Launch{};
}

std::vector<std::vector<size_t>> shard_files(const std::vector<int64_t>& labels, int size) {
  if (size < 1) throw Error(ErrorCode::kInvalidArgument, "distributed: world size must be >= 1");
  std::vector<std::vector<size_t>> shards(static_cast<size_t>(size));
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t f = 0; f < labels.size(); ++f) by_class[labels[f]].push_back(f);
  size_t next_rank = 0;
  for (const auto& [label, files] : by_class)
    for (size_t f : files) {
      shards[next_rank].push_back(f);
      next_rank = (next_rank + 1) % shards.size();
    }
  for (auto& s : shards) std::sort(s.begin(), s.end());
  for (int r = 0; r < size; ++r)
    if (shards[r].empty())
      throw Error(ErrorCode::kInvalidArgument,
                  "distributed: " + std::to_string(size) + " processes for " +
                      std::to_string(labels.size()) + " files: rank " + std::to_string(r) +
                      " would read no file (each rank reads whole files; use at most " +
                      std::to_string(labels.size()) + " processes)");
  return shards;
}

}  // namespace m4h::train
