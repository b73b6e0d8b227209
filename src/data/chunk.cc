#include "data/chunk.h"

#include "core/huge_pages.h"

#include <algorithm>

namespace m4h::data {

namespace {

// Events one assembly task handles.
constexpr int64_t kPieceEvents = 2048;

}  // namespace

void ChunkStats::add(const ChunkStats& o) {
  events += o.events;
  if (events_per_file.size() < o.events_per_file.size()) events_per_file.resize(o.events_per_file.size(), 0);
  for (size_t f = 0; f < o.events_per_file.size(); ++f) events_per_file[f] += o.events_per_file[f];
  for (const auto& [label, n] : o.split_by_label) {
    auto& mine = split_by_label[label];
    for (int s = 0; s < 3; ++s) mine[s] += n[s];
  }
  assembly.add(o.assembly);
}

void assemble_chunk(const ChunkContext& ctx, int64_t index, std::span<const ChunkPart> parts,
                    ThreadPool* pool, Chunk& c, ChunkStats& stats) {
  const FeatureLayout& layout = *ctx.layout;
  struct Work {
    const ChunkPart* part;
    int64_t begin, end, row0;  // events [begin, end) of the part go to concatenated rows row0..
  };
  std::vector<Work> work;
  int64_t rows = 0;
  for (const ChunkPart& p : parts)
    for (int64_t b = p.begin; b < p.end; b += kPieceEvents) {
      const int64_t e = std::min(p.end, b + kPieceEvents);
      work.push_back(Work{&p, b, e, rows});
      rows += e - b;
    }

  const int64_t width = layout.width;
  c.index = index;
  c.rows = rows;
  c.width = width;
  // Recycled buffers of the same size are not written twice: every cell is assembled below.
  resize_huge(c.features, static_cast<size_t>(rows * width));
  if (ctx.with_mask) resize_huge(c.mask, static_cast<size_t>(rows * width));
  else c.mask.clear();
  c.labels.resize(rows);
  c.split.resize(rows);
  c.file.resize(rows);
  c.entry.resize(rows);
  std::vector<int64_t> perm;
  shuffle_rows(rows, ctx.seed, index, ctx.shuffle, perm);

  std::vector<ChunkStats> part_stats(work.size());
  auto run_one = [&](size_t w) {
    const Work& wk = work[w];
    const Block& block = *wk.part->block;
    const int32_t f = wk.part->file;
    const int64_t* dest = perm.data() + wk.row0;
    ChunkStats& st = part_stats[w];
    st.assembly.resize(layout);
    assemble(layout, block.features, wk.begin, wk.end, dest, c.features.data(),
             ctx.with_mask ? c.mask.data() : nullptr,
             st.assembly);
    const int64_t label = ctx.labels[f];
    const uint64_t key = ctx.file_keys[f];
    std::array<int64_t, 3> splits{0, 0, 0};
    for (int64_t i = wk.begin; i < wk.end; ++i) {
      const int64_t r = dest[i - wk.begin];
      const int64_t entry = block.entry(i);
      const Split s = ctx.splitter->of(key, entry);
      c.labels[r] = label;
      c.file[r] = f;
      c.entry[r] = entry;
      c.split[r] = static_cast<uint8_t>(s);
      ++splits[static_cast<int>(s)];
    }
    st.events = wk.end - wk.begin;
    st.events_per_file.assign(ctx.labels.size(), 0);
    st.events_per_file[f] = st.events;
    st.split_by_label[label] = splits;
  };
  if (pool) pool->parallel_for(work.size(), run_one);
  else for (size_t w = 0; w < work.size(); ++w) run_one(w);
  for (const ChunkStats& st : part_stats) stats.add(st);
}

}  // namespace m4h::data
