// Hot swap over HTTP: clients keep sending OIP inference requests (keep-alive connections, as a
// load generator does) while new versions of the model are uploaded (POST /upload, a .tar.gz) and
// reloaded (POST /v2/repository/models/NAME/load). No request may fail, and every answer is the
// score of one of the versions. Bounded: six swaps, at most 60 s.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "core/archive.h"
#include "serve/served_repository.h"
#include "support/curl_client.h"

namespace m4h::test {
namespace {

using json = nlohmann::json;

// One row of zeros for the model's first input, as OIP JSON.
std::string zero_row_request(const json& metadata) {
  const json& in = metadata.at("inputs").at(0);
  json shape = in.at("shape");
  int64_t cells = 1;
  shape[0] = 1;
  for (const auto& d : shape) cells *= d.get<int64_t>();
  json r = {{"inputs", json::array({{{"name", in.at("name")},
                                     {"shape", shape},
                                     {"datatype", in.at("datatype")},
                                     {"data", std::vector<double>(static_cast<size_t>(cells), 0.0)}}})}};
  return r.dump();
}

TEST(ServeHotSwap, UploadsAndReloadsUnderLoadFailNoRequest) {
  ServedRepository s;
  const auto& f = serve_fixtures();
  const std::string mlp_gz = s.w.path("mlp.tar.gz"), xgb_gz = s.w.path("xgb.tar.gz");
  make_tar_gz(f.mlp, mlp_gz);
  make_tar_gz(f.xgb, xgb_gz);
  const std::string mlp_bytes = read_text(mlp_gz), xgb_bytes = read_text(xgb_gz);

  CurlClient admin;
  const auto meta = admin.request("GET", s.base + "/v2/models/mlp");
  ASSERT_EQ(meta.status, 200) << meta.body;
  const std::string body = zero_row_request(json::parse(meta.body));
  const std::string infer_url = s.base + "/v2/models/mlp/infer";
  auto score_of = [](const HttpResult& r) { return json::parse(r.body)["outputs"][0]["data"][0].get<double>(); };

  // The two versions' scores of the request, measured before the load starts.
  auto r = admin.request("POST", infer_url, body);
  ASSERT_EQ(r.status, 200) << r.body;
  const double from_mlp = score_of(r);
  r = admin.request("POST", s.base + "/upload?name=mlp", xgb_bytes, {"Content-Type: application/gzip"});
  ASSERT_EQ(r.status, 201) << r.body;
  r = admin.request("POST", infer_url, body);
  ASSERT_EQ(r.status, 200) << r.body;
  const double from_xgb = score_of(r);
  ASSERT_EQ(json::parse(r.body)["model_version"], "2");

  std::atomic<bool> done{false};
  std::atomic<int64_t> ok{0}, failed{0}, other{0};
  std::mutex first_failure_mutex;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      CurlClient c;
      while (!done) {
        const auto res = c.request("POST", infer_url, body, {"Content-Type: application/json"}, 10000);
        if (res.code != CURLE_OK || res.status != 200) {
          std::lock_guard lock(first_failure_mutex);
          if (failed++ == 0)
            first_failure = "curl " + std::to_string(res.code) + ", HTTP " + std::to_string(res.status) + ": " + res.body;
          continue;
        }
        // Rows batched with others may differ in the last bits (another matmul shape).
        const double score = score_of(res);
        if (std::abs(score - from_mlp) > 1e-6 && std::abs(score - from_xgb) > 1e-6) ++other;
        ++ok;
      }
    });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int swaps = 0;
  for (int i = 0; i < 6 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    const auto up = admin.request("POST", s.base + "/upload?name=mlp", i % 2 ? xgb_bytes : mlp_bytes,
                                  {"Content-Type: application/gzip"});
    EXPECT_EQ(up.status, 201) << up.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    const auto load = admin.request("POST", s.base + "/v2/repository/models/mlp/load", "{}");
    EXPECT_EQ(load.status, 200) << load.body;
    ++swaps;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  done = true;
  for (auto& t : clients) t.join();

  EXPECT_EQ(swaps, 6);
  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure;
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 50);
  r = admin.request("POST", infer_url, body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model_version"], "8");
  EXPECT_NEAR(score_of(r), from_xgb, 1e-6);  // version 8 is the last upload (i = 5): XGBoost
  std::printf("%lld requests over HTTP during 6 uploads and 6 reloads, %lld failed\n",
              static_cast<long long>(ok.load()), static_cast<long long>(failed.load()));
}

}  // namespace
}  // namespace m4h::test
