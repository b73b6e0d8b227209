#include "data/pipeline.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/thread_pool.h"

namespace m4h::data {

void drop_features(Specs& s, const std::vector<std::string>& names) {
  auto dropped = [&](const std::string& k) {
    return std::find(names.begin(), names.end(), k) != names.end();
  };
  const size_t nf = s.fkeys.size();
  Specs out = s;
  out.fkeys.clear();
  out.jkeys.clear();
  out.minv.clear();
  out.maxv.clear();
  out.nonfinite.clear();
  out.jdim.clear();
  out.jdim_measured.clear();
  out.truncated.clear();
  const std::vector<std::string> keys = s.features();
  for (size_t k = 0; k < keys.size(); ++k) {
    if (dropped(keys[k])) continue;
    (k < nf ? out.fkeys : out.jkeys).push_back(keys[k]);
    out.minv.push_back(s.minv[k]);
    out.maxv.push_back(s.maxv[k]);
    out.nonfinite.push_back(k < s.nonfinite.size() ? s.nonfinite[k] : 0);
    if (k >= nf) {
      out.jdim.push_back(s.jdim[k - nf]);
      out.jdim_measured.push_back(s.jdim_measured[k - nf]);
      out.truncated.push_back(s.truncated[k - nf]);
    }
  }
  for (FileSpecs& f : out.files) f.stats.clear();  // per-feature stats no longer line up
  s = std::move(out);
}

std::unique_ptr<Pipeline> prepare_pipeline(const PipelineRequest& r,
                                           const std::function<void(int64_t, int64_t)>& progress) {
  auto p = std::make_unique<Pipeline>();
  Params params = r.params.empty() ? Params{} : load_params(r.params);
  p->dataset = make_dataset(read_list_arg(r.files), read_labels_arg(r.labels), std::move(params));
  if (!r.preproc.empty()) p->preproc = Preprocess::from_file(r.preproc);
  p->files = open_inputs(p->dataset, r.source);
  const Params& prm = p->dataset.params;
  const root::Tree& first = *p->files.front().tree;

  if (!r.specs.empty()) {
    p->specs = Specs::load(r.specs);
    drop_features(p->specs, prm.identifier);
    p->plan = with_context(r.specs, [&] {
      return plan_from_keys(first, p->specs.fkeys, p->specs.jkeys, prm, p->preproc);
    });
    p->origin = SpecsOrigin::kForced;
    return p;
  }

  p->plan = plan_branches(first, prm, p->preproc);
  const std::string provenance = provenance_of(p->files, p->plan, p->preproc, prm);
  std::error_code ec;
  if (!r.force_compute && !r.specs_cache.empty() && std::filesystem::exists(r.specs_cache, ec)) {
    try {
      Specs cached = Specs::load(r.specs_cache);
      if (cached.provenance == provenance) {
        p->specs = std::move(cached);
        p->origin = SpecsOrigin::kCached;
        return p;
      }
    } catch (const Error&) {
      // An unreadable cache is recomputed, as a stale one is.
    }
  }
  int64_t total = 0;
  for (const InputFile& f : p->files) total += f.tree->entries();
  auto pool = ThreadPool::for_total_threads(static_cast<std::size_t>(prm.threads));
  p->specs = compute_specs(p->files, p->plan, p->preproc, prm, pool.get(),
                           [&](int64_t done) {
                             if (progress) progress(done, total);
                           });
  p->origin = SpecsOrigin::kComputed;
  if (!r.specs_cache.empty()) p->specs.save(r.specs_cache);
  return p;
}

std::unique_ptr<Pipeline> prepare_pipeline_part(const PipelineRequest& r, Specs specs,
                                                const std::vector<size_t>& only) {
  auto p = std::make_unique<Pipeline>();
  Params params = r.params.empty() ? Params{} : load_params(r.params);
  const std::vector<std::string> files = read_list_arg(r.files);
  const std::vector<int64_t> labels = read_labels_arg(r.labels);
  std::vector<std::string> part_files;
  std::vector<int64_t> part_labels;
  for (size_t i : only) {
    if (i >= files.size() || i >= labels.size())
      throw Error(ErrorCode::kInvalidArgument,
                  "files: no file " + std::to_string(i) + " in a list of " + std::to_string(files.size()));
    part_files.push_back(files[i]);
    part_labels.push_back(labels[i]);
  }
  p->dataset = make_dataset(std::move(part_files), std::move(part_labels), std::move(params));
  if (!r.preproc.empty()) p->preproc = Preprocess::from_file(r.preproc);
  p->files = open_inputs(p->dataset, r.source);
  p->specs = std::move(specs);
  p->plan = plan_from_keys(*p->files.front().tree, p->specs.fkeys, p->specs.jkeys, p->dataset.params,
                           p->preproc);
  p->origin = SpecsOrigin::kForced;
  return p;
}

}  // namespace m4h::data
