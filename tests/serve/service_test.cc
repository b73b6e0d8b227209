// `mlaas4hep serve`'s routes end to end: a real server on 127.0.0.1:0 in front of a fake
// repository (fake_repository.h), driven by libcurl: OIP v2, TFaaS (JSON and protobuf), uploads,
// /metrics, and the errors each answers.
#include "serve/service.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/server.h"
#include "serve/fake_repository.h"
#include "serve/tfaas.pb.h"
#include "support/curl_client.h"

namespace m4h::serve {
namespace {

using nlohmann::json;
using test::CurlClient;

struct Served {
  explicit Served(int io_threads = 2) {
    http::ServerOptions o;
    o.threads = io_threads;
    o.counters = counters;
    service = std::make_unique<Service>(repo, counters);
    server = std::make_unique<http::Server>(o, service->handler());
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~Served() {
    server->stop();
    service.reset();
  }
  json get_json(const std::string& path, long expect = 200) {
    auto r = client.request("GET", base + path);
    EXPECT_EQ(r.status, expect) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  test::HttpResult post(const std::string& path, const std::string& body, std::vector<std::string> headers = {}) {
    return client.request("POST", base + path, body, headers);
  }
  test::FakeRepository repo;
  std::shared_ptr<http::StatusCounters> counters = std::make_shared<http::StatusCounters>();
  std::unique_ptr<Service> service;
  std::unique_ptr<http::Server> server;
  std::string base;
  CurlClient client;
};

TEST(ServeOip, HealthAndServerMetadata) {
  Served s;
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/health/live").status, 200);
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/health/ready").status, 200);
  json meta = s.get_json("/v2");
  EXPECT_EQ(meta["name"], "mlaas4hep");
  EXPECT_EQ(meta["extensions"], json({"binary_tensor_data", "model_repository"}));
}

TEST(ServeOip, ModelMetadataAndReadiness) {
  Served s;
  json m = s.get_json("/v2/models/sum");
  EXPECT_EQ(m["name"], "sum");
  EXPECT_EQ(m["versions"], json({"1"}));
  EXPECT_EQ(m["inputs"][0]["name"], "x");
  EXPECT_EQ(m["inputs"][0]["shape"], json({-1, 3}));
  EXPECT_EQ(m["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(m["parameters"]["branches"], json({"a", "b"}));
  EXPECT_EQ(s.get_json("/v2/models/two/versions/3")["name"], "two");
  s.get_json("/v2/models/two/versions/9", 404);
  s.get_json("/v2/models/none", 404);
  EXPECT_EQ(s.get_json("/v2/models/sum/ready")["ready"], true);
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/models/sum/versions/1/ready").status, 200);
  auto r = s.client.request("GET", s.base + "/v2/models/broken/ready");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("corrupt"), std::string::npos);
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/models/none/ready").status, 404);
}

TEST(ServeOip, InferJson) {
  Served s;
  auto r = s.post("/v2/models/sum/infer", R"({"id": "r1", "inputs": [
      {"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["id"], "r1");
  EXPECT_EQ(j["model_name"], "sum");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["outputs"][0]["name"], "scores");
  EXPECT_EQ(j["outputs"][0]["shape"], json({2, 1}));
  EXPECT_EQ(j["outputs"][0]["data"], json({6.0, 15.0}));

  // Two outputs, a version in the path, a mask.
  r = s.post("/v2/models/two/versions/3/infer", R"({"inputs": [
      {"name": "x", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]},
      {"name": "mask", "shape": [1, 3], "datatype": "BOOL", "data": [true, false, true]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["outputs"][0]["shape"], json({1, 2}));
  EXPECT_EQ(j["outputs"][0]["data"], json({4.0, 5.0}));

  // Raw branches: a flat, b jagged padded with null.
  r = s.post("/v2/models/sum/infer", R"({"inputs": [
      {"name": "a", "shape": [2], "datatype": "FP32", "data": [10, 20]},
      {"name": "b", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, null]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  // row 0: 10 + 3 + 2; row 1: 20 + 3 + 1
  EXPECT_EQ(json::parse(r.body)["outputs"][0]["data"], json({15.0, 24.0}));
}

TEST(ServeOip, InferBinaryTensorsBothWays) {
  Served s;
  const std::string head = R"({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
      "parameters": {"binary_data_size": 24}}], "outputs": [{"name": "scores", "parameters": {"binary_data": true}}]})";
  const float x[6] = {1, 1, 1, 0.5f, 0.25f, 0.25f};
  std::string body = head + std::string(reinterpret_cast<const char*>(x), sizeof x);
  auto r = s.post("/v2/models/sum/infer", body,
                  {"Inference-Header-Content-Length: " + std::to_string(head.size()),
                   "Content-Type: application/octet-stream"});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.headers.count("inference-header-content-length"));
  const size_t n = std::stoul(r.headers["inference-header-content-length"]);
  json j = json::parse(r.body.substr(0, n));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 8);
  ASSERT_EQ(r.body.size(), n + 8);
  float scores[2];
  std::memcpy(scores, r.body.data() + n, 8);
  EXPECT_EQ(scores[0], 3.0f);
  EXPECT_EQ(scores[1], 1.0f);
}

TEST(ServeOip, RejectedEventsScoreNaNWhenAsked) {
  Served s;
  const std::string inputs = R"("inputs": [
      {"name": "a", "shape": [3], "datatype": "FP32", "data": [10, -1, 20]},
      {"name": "b", "shape": [3, 1], "datatype": "FP32", "data": [1, 2, 3]}])";
  auto r = s.post("/v2/models/sum/infer", "{" + inputs + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("fails the cut"), std::string::npos) << r.body;
  // JSON has no NaN: a rejected event's score is null there.
  r = s.post("/v2/models/sum/infer", R"({"parameters": {"rejected_events": "nan"}, )" + inputs + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["outputs"][0]["shape"], json({3, 1}));
  EXPECT_EQ(j["outputs"][0]["data"], json({12.0, nullptr, 24.0}));
  // Every event rejected: no model call, every score NaN.
  r = s.post("/v2/models/sum/infer", R"({"parameters": {"rejected_events": "nan", "binary_data_output": true},
      "inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [-5]},
                 {"name": "b", "shape": [1], "datatype": "FP32", "data": [1]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t n = std::stoul(r.headers["inference-header-content-length"]);
  ASSERT_EQ(r.body.size(), n + 4);
  float score = 0;
  std::memcpy(&score, r.body.data() + n, 4);
  EXPECT_TRUE(std::isnan(score));
}

TEST(ServeOip, InferErrors) {
  Served s;
  auto r = s.post("/v2/models/sum/infer", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("malformed JSON"), std::string::npos);
  r = s.post("/v2/models/sum/infer", R"({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("input 'x'"), std::string::npos);
  r = s.post("/v2/models/nope/infer", R"({"inputs": []})");
  EXPECT_EQ(r.status, 404);
  r = s.post("/v2/models/sum/infer", R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],
      "outputs": [{"name": "logits"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("output 'logits'"), std::string::npos);
  r = s.post("/v2/models/sum/infer", "{}", {"Inference-Header-Content-Length: 12x"});
  EXPECT_EQ(r.status, 400);
  // The server keeps serving after all of these, on the same connection.
  r = s.post("/v2/models/sum/infer", R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.new_connections, 0);
}

TEST(ServeOip, IoThreadsDoNotWaitOnFutures) {
  // Two io threads, eight requests that the fake batcher holds until all eight are queued: if an
  // io thread blocked on future.get(), only two would ever be submitted and all would time out.
  Served s(2);
  s.repo.set_gate(8);
  std::vector<long> statuses(8);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      statuses[i] = CurlClient()
                        .request("POST", s.base + "/v2/models/sum/infer",
                                 R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 1, 1]}]})",
                                 {}, 5000)
                        .status;
    });
  }
  for (auto& t : clients) t.join();
  for (long st : statuses) EXPECT_EQ(st, 200);
  EXPECT_EQ(s.repo.largest_gathering(), 8u);
  s.repo.set_gate(0);
}

TEST(ServeOip, RepositoryExtension) {
  Served s;
  auto r = s.post("/v2/repository/index", "");
  ASSERT_EQ(r.status, 200);
  json idx = json::parse(r.body);
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx[2]["name"], "broken");
  EXPECT_EQ(idx[2]["state"], "UNAVAILABLE");
  EXPECT_EQ(json::parse(s.post("/v2/repository/index", R"({"ready": true})").body).size(), 2u);
  EXPECT_EQ(s.post("/v2/repository/index", R"({"ready": 1})").status, 400);

  EXPECT_EQ(s.post("/v2/repository/models/sum/unload", "").status, 200);
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/models/sum/ready").status, 400);
  EXPECT_EQ(s.post("/v2/models/sum/infer", R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})").status, 404);
  EXPECT_EQ(s.post("/v2/repository/models/sum/unload", "").status, 404);
  EXPECT_EQ(s.post("/v2/repository/models/sum/load", "").status, 200);
  EXPECT_EQ(s.client.request("GET", s.base + "/v2/models/sum/ready").status, 200);
  EXPECT_EQ(s.post("/v2/repository/models/ghost/load", "").status, 404);
  r = s.post("/v2/repository/models/broken/load", "");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("bundle.json"), std::string::npos);
}

TEST(ServeTfaas, JsonRowAndBatch) {
  Served s;
  // Raw branches (keys are not the feature names): a=1, b=[2, 3] -> 1 + 5 + 2.
  auto r = s.post("/json", R"({"keys": ["a", "b"], "values": [1, [2, 3]], "model": "sum"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({8.0}));
  // Features (keys are exactly feature_names), a batch of two rows, on the alias.
  r = s.post("/predict/json", R"({"keys": ["f_a", "f_bsum", "f_bn"], "values": [[1, 2, 3], [0, 0, 1]], "model": "two"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{6.0, 7.0}, {1.0, 2.0}}));
  // The same batch in forms the fast scanner leaves to the full parser ("values" before "keys",
  // an escaped key): the same answer.
  for (const char* body : {R"({"values": [[1, 2, 3], [0, 0, 1]], "keys": ["f_a", "f_bsum", "f_bn"], "model": "two"})",
                           R"({"keys": ["f\u005fa", "f_bsum", "f_bn"], "values": [[1, 2, 3], [0, 0, 1]], "model": "two"})"}) {
    r = s.post("/json", body);
    ASSERT_EQ(r.status, 200) << body << ": " << r.body;
    EXPECT_EQ(json::parse(r.body), json({{6.0, 7.0}, {1.0, 2.0}})) << body;
  }
  // One row of features: a list of scores.
  r = s.post("/json", R"({"keys": ["f_a", "f_bsum", "f_bn"], "values": [1, 2, 3], "model": "two"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json({6.0, 7.0}));
  // Errors.
  EXPECT_EQ(s.post("/json", R"({"keys": ["f_a", "f_bsum", "f_bn"], "values": [[1, 2], [0, 0, 1]], "model": "two"})").status, 400);
  EXPECT_EQ(s.post("/json", R"({"keys": ["f_a", "f_bsum", "f_bn"], "values": [1, 2, 3], "model": "zzz"})").status, 404);
  EXPECT_EQ(s.post("/json", R"({"keys": ["a"], "values": [1, 2], "model": "sum"})").status, 400);
  EXPECT_EQ(s.post("/json", R"({"keys": ["a", "b"], "values": [1, 2]})").status, 400);  // which model?
  EXPECT_EQ(s.post("/json", R"({"keys": ["a", "b"], "values": [1, 2], "model": "zzz"})").status, 404);
  EXPECT_EQ(s.post("/json", R"({"keys": ["a"], "values": [1], "model": "sum"})").status, 400);  // b missing
  EXPECT_EQ(s.post("/json", "[").status, 400);
}

TEST(ServeTfaas, Protobuf) {
  Served s;
  tfaas::Row row;
  for (const char* k : {"f_a", "f_bsum", "f_bn"}) row.add_key(k);
  for (float v : {1.0f, 2.0f, 0.5f}) row.add_value(v);
  row.set_model("two");
  for (const char* path : {"/proto", "/predict/proto"}) {
    auto r = s.post(path, row.SerializeAsString(), {"Content-Type: application/octet-stream"});
    ASSERT_EQ(r.status, 200) << r.body;
    tfaas::Predictions p;
    ASSERT_TRUE(p.ParseFromString(r.body));
    ASSERT_EQ(p.prediction_size(), 2);
    EXPECT_EQ(p.prediction(0).probability(), 3.5f);
    EXPECT_EQ(p.prediction(1).label(), "1");
  }
  EXPECT_EQ(s.post("/proto", "\xff\xff\xff garbage").status, 400);
  row.add_key("extra");
  EXPECT_EQ(s.post("/proto", row.SerializeAsString()).status, 400);
}

TEST(ServeTfaas, UploadDeleteModelsStatus) {
  Served s;
  const std::string gz = std::string("\x1f\x8b\x08\x00", 4) + std::string(1000, 'q');
  // multipart, name from the form
  const std::string body = "--BB\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nnew_model\r\n"
                           "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/x.tar.gz\"\r\n"
                           "Content-Type: application/gzip\r\n\r\n" + gz + "\r\n--BB--\r\n";
  auto r = s.post("/upload", body, {"Content-Type: multipart/form-data; boundary=BB"});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body), json({{"name", "new_model"}, {"version", "1"}}));
  EXPECT_EQ(s.repo.uploaded_bytes(), gz.size());
  // raw body, name from the query: the next version
  r = s.post("/upload?name=new_model", gz, {"Content-Type: application/gzip"});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["version"], "2");
  EXPECT_EQ(s.post("/upload?name=../evil", gz).status, 400);
  EXPECT_EQ(s.post("/upload", gz).status, 400);                      // no name
  EXPECT_EQ(s.post("/upload?name=m", "not gzip").status, 400);
  EXPECT_EQ(s.post("/upload", "--BB\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nm",
                   {"Content-Type: multipart/form-data; boundary=BB"}).status, 400);  // truncated

  json models = s.get_json("/models");
  EXPECT_EQ(models.size(), 4u);
  json st = s.get_json("/status");
  EXPECT_EQ(st["status"], "ok");
  EXPECT_EQ(st["models"], 4);
  EXPECT_EQ(st["models_ready"], 3);

  EXPECT_EQ(s.client.request("DELETE", s.base + "/delete/new_model").status, 200);
  EXPECT_EQ(s.client.request("DELETE", s.base + "/delete/new_model").status, 404);
  EXPECT_EQ(s.get_json("/models").size(), 3u);
  // No file serving: TFaaS's static paths are simply not routes.
  EXPECT_EQ(s.client.request("GET", s.base + "/static/../../etc/passwd").status, 404);
}

TEST(ServeMetrics, PrometheusText) {
  Served s;
  s.post("/v2/models/sum/infer", R"({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]})");
  s.post("/v2/models/sum/infer", "{");
  auto r = s.client.request("GET", s.base + "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(r.body.find("# TYPE nv_inference_request_success counter"), std::string::npos);
  EXPECT_NE(r.body.find("nv_inference_request_success{model=\"sum\",version=\"1\"} 1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("nv_inference_count{model=\"sum\",version=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(r.body.find("nv_inference_exec_count{model=\"sum\",version=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("nv_inference_queue_duration_us{model=\"sum\""), std::string::npos);
  EXPECT_NE(r.body.find("nv_inference_compute_infer_duration_us{model=\"sum\""), std::string::npos);
  EXPECT_NE(r.body.find("m4h_http_requests_total{status=\"200\"} 1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("m4h_http_requests_total{status=\"400\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace m4h::serve
