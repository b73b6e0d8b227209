// Input files given as URLs or as names behind params.json's redirector: the same specs and the
// same feature rows as the local files (served by the local HTTP test server).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>

#include "data/data_test_util.h"
#include "data/pipeline.h"
#include "data/producer.h"
#include "support/http_test_server.h"

namespace m4h::data {
namespace {

using test::HttpTestServer;
using test::Scratch;

std::vector<uint8_t> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Features of every event, keyed by (file index, entry).
std::map<std::pair<int32_t, int64_t>, std::vector<float>> rows_of(const Pipeline& p) {
  BatchProducer prod(p.files, p.plan, p.specs, p.preproc, p.dataset.params,
                     events_after_cuts(p.files, p.plan, p.specs, p.preproc, nullptr));
  std::map<std::pair<int32_t, int64_t>, std::vector<float>> out;
  Chunk c;
  while (prod.next(c))
    for (int64_t r = 0; r < c.rows; ++r)
      out[{c.file[r], c.entry[r]}] =
          std::vector<float>(c.features.begin() + r * c.width, c.features.begin() + (r + 1) * c.width);
  return out;
}

TEST(RemoteInputs, UrlsAndRedirectorGiveTheLocalResults) {
  Scratch s;
  const std::string sig = test::generate(s, "sig.root", true, 800, 51);
  const std::string bkg = test::generate(s, "bkg.root", false, 1200, 52);
  HttpTestServer sig_server(bytes_of(sig), HttpTestServer::Mode::kRanges);
  HttpTestServer bkg_server(bytes_of(bkg), HttpTestServer::Mode::kRanges);

  PipelineRequest local;
  local.files = sig + "," + bkg;
  local.labels = "1,0";
  local.params = s.write("params.json", R"({"chunk_size": 300})");
  auto a = prepare_pipeline(local);

  PipelineRequest remote = local;
  remote.files = s.write("files.txt", sig_server.url() + "\n" + bkg_server.url() + "\n");
  auto b = prepare_pipeline(remote);
  EXPECT_EQ(b->specs.minv, a->specs.minv);
  EXPECT_EQ(b->specs.maxv, a->specs.maxv);
  EXPECT_EQ(b->specs.jdim, a->specs.jdim);
  EXPECT_EQ(b->files[1].size, a->files[1].size);
  EXPECT_EQ(b->files[1].mtime_ns, -1);  // unknown for a remote file: provenance uses the size
  EXPECT_EQ(rows_of(*b), rows_of(*a));

  // A logical name behind the redirector of params.json.
  PipelineRequest redirected = local;
  redirected.files = "/file.root";
  redirected.labels = "1";
  redirected.params = s.write("params-r.json", R"({"chunk_size": 300, "redirector": ")" +
                                                   sig_server.url("") + R"("})");
  auto c = prepare_pipeline(redirected);
  EXPECT_EQ(c->specs.total_events, 800);
}

}  // namespace
}  // namespace m4h::data
