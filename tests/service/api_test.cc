// The workflow server's REST API over real HTTP (libcurl against 127.0.0.1:0), with the local
// executor and the stand-in trainer (fake_train.h), and a test authenticator ("Bearer alice",
// "Bearer bob", "Bearer admin"): uploads, submission, the log followed to the end, artifacts,
// users kept apart (403), missing tokens (401), traversal in names (400), oversized uploads
// (413), a full queue (429), and the reference server's endpoints.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/archive.h"
#include "core/error.h"
#include "http/router.h"
#include "http/server.h"
#include "service/api.h"
#include "service/fake_train.h"
#include "support/curl_client.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace service;

Authenticator test_tokens() {
  return [](const http::Request& req) {
    const std::string h(req.header("authorization"));
    if (h == "Bearer alice") return Principal{"alice", false};
    if (h == "Bearer bob") return Principal{"bob", false};
    if (h == "Bearer admin") return Principal{"root", true};
    throw Error(ErrorCode::kAuth, h.empty() ? "no bearer token" : "invalid token");
  };
}

struct Server {
  explicit Server(int64_t max_queued = 100, size_t max_body = 1 << 20, std::function<std::string()> list_models = {})
      : tmp("m4h-api"), dir(tmp.path) {
    store = std::make_unique<JobStore>((dir / "jobs.db").string());
    executor = make_local_executor();
    JobServiceOptions o;
    o.state_dir = (dir / "state").string();
    o.ml_executable = write_fake_train(dir);
    o.cpus = 1;
    o.max_queued = max_queued;
    o.poll_interval = std::chrono::milliseconds(20);
    o.cancel_grace_ms = 1000;
    o.publish = [](const Job& j, const std::string&) { return j.name + "/1"; };
    jobs = std::make_unique<JobService>(*store, *executor, o);
    ApiOptions a;
    a.uploads_dir = (dir / "uploads").string();
    a.limits.max_cpus = 2;
    if (list_models) {
      a.list_models = list_models;
      a.inference_url = "http://127.0.0.1:1";
    }
    api = std::make_unique<Api>(*jobs, *store, test_tokens(), a);
    api->add_routes(router);
    http::ServerOptions so;
    so.max_body_bytes = max_body;
    server = std::make_unique<http::Server>(so, router.handler());
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~Server() {
    // Nothing outlives the test: queued jobs first, so that none starts in between.
    for (JobState st : {JobState::kQueued, JobState::kRunning})
      for (const auto& j : store->list({.state = st, .limit = 1000})) {
        try {
          jobs->cancel(j.id, "test");
        } catch (const Error&) {
        }
      }
    server->stop();
    api.reset();
    jobs.reset();
  }

  HttpResult call(const std::string& who, const std::string& method, const std::string& path,
                  const std::string& body = {}, std::vector<std::string> headers = {}) {
    if (!who.empty()) headers.push_back("Authorization: Bearer " + who);
    return client.request(method, base + path, body, headers);
  }
  json call_json(const std::string& who, const std::string& method, const std::string& path, int expected,
                 const std::string& body = {}) {
    const auto r = call(who, method, path, body);
    EXPECT_EQ(r.status, expected) << method << " " << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // A .tar.gz of a reference-style input folder; label 1 makes the stand-in succeed.
  std::string input_bundle(int label = 1) {
    const fs::path in = dir / ("input-" + std::to_string(n++)) / "myinputs";
    fs::create_directories(in / "data");
    std::ofstream(in / "files.txt") << "data/sig.root\ndata/bkg.root\n";
    std::ofstream(in / "labels.txt") << label << "\n0\n";
    std::ofstream(in / "params.json") << R"({"nevts": 100})";
    std::ofstream(in / "model.json") << R"({"type": "mlp"})";
    std::ofstream(in / "data/sig.root") << "s";
    std::ofstream(in / "data/bkg.root") << "b";
    const std::string tgz = (dir / ("in-" + std::to_string(n++) + ".tar.gz")).string();
    make_tar_gz(in.parent_path().string(), tgz);  // one top folder, as the reference's clients pack
    std::ifstream f(tgz, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  json wait_final(const std::string& who, int64_t id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    json j;
    do {
      j = call_json(who, "GET", "/api/v1/jobs/" + std::to_string(id), 200);
      if (j["state"] != "queued" && j["state"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return j;
  }

  static inline int n = 0;
  TempDir tmp;
  fs::path dir;
  std::unique_ptr<JobStore> store;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<JobService> jobs;
  std::unique_ptr<Api> api;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::string base;
  CurlClient client;
};

TEST(ServiceApi, UploadSubmitFollowTheLogAndDownloadTheBundle) {
  Server s;
  json up = s.call_json("alice", "POST", "/api/v1/uploads?name=ttH", 201, s.input_bundle());
  EXPECT_EQ(up["upload"], "ttH");
  EXPECT_EQ(up["files"], json({"data/bkg.root", "data/sig.root", "files.txt", "labels.txt", "model.json", "params.json"}));
  json job = s.call_json("alice", "POST", "/api/v1/jobs", 201, R"({"upload": "ttH", "name": "tth-mlp"})");
  EXPECT_EQ(job["owner"], "alice");
  EXPECT_EQ(job["name"], "tth-mlp");
  EXPECT_EQ(job["state"], "queued");
  const int64_t id = job["id"];
  const std::string jp = "/api/v1/jobs/" + std::to_string(id);

  // Follow the log: long polls from the last offset until the job has ended.
  std::string log;
  int64_t offset = 0;
  std::string state = "queued";
  for (int i = 0; i < 100 && (state == "queued" || state == "running"); ++i) {
    const auto r = s.call("alice", "GET", jp + "/log?offset=" + std::to_string(offset) + "&wait_ms=2000");
    ASSERT_EQ(r.status, 200) << r.body;
    log += r.body;
    offset = std::stoll(r.headers.at("x-log-offset"));
    state = r.headers.at("x-job-state");
  }
  EXPECT_EQ(state, "succeeded");
  EXPECT_NE(log.find("job " + std::to_string(id) + " of alice started"), std::string::npos) << log;
  EXPECT_NE(log.find("/uploads/ttH/data/sig.root\n"), std::string::npos) << log;

  job = s.wait_final("alice", id);
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["published"], "tth-mlp/1");
  EXPECT_EQ(job["exit_code"], 0);
  json art = s.call_json("alice", "GET", jp + "/artifacts", 200);
  EXPECT_EQ(art["artifacts"][0]["path"], "metrics.json");
  auto m = s.call("alice", "GET", jp + "/artifacts/metrics.json");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(json::parse(m.body)["auc"], 0.8);
  auto tgz = s.call("alice", "GET", jp + "/artifacts/bundle.tar.gz");
  EXPECT_EQ(tgz.status, 200);
  EXPECT_EQ(tgz.headers["content-type"], "application/gzip");
  EXPECT_EQ(tgz.body.substr(0, 2), "\x1f\x8b");

  // Ended jobs are deleted with their folder; running ones are not.
  EXPECT_EQ(s.call("alice", "DELETE", jp).status, 200);
  EXPECT_EQ(s.call("alice", "GET", jp).status, 404);
}

TEST(ServiceApi, UsersAreKeptApartAndAdminsSeeAll) {
  Server s;
  s.call_json("alice", "POST", "/api/v1/uploads?name=a1", 201, s.input_bundle(8));  // runs 30 s
  const int64_t id = s.call_json("alice", "POST", "/api/v1/jobs", 201, R"({"upload": "a1"})")["id"];
  const std::string jp = "/api/v1/jobs/" + std::to_string(id);
  EXPECT_EQ(s.call("bob", "GET", jp).status, 403);
  EXPECT_EQ(s.call("bob", "GET", jp + "/log").status, 403);
  EXPECT_EQ(s.call("bob", "GET", jp + "/artifacts").status, 403);
  EXPECT_EQ(s.call("bob", "POST", jp + "/cancel").status, 403);
  EXPECT_EQ(s.call("bob", "DELETE", jp).status, 403);
  EXPECT_EQ(s.call("bob", "POST", "/api/v1/jobs", R"({"upload": "a1"})").status, 403);
  EXPECT_EQ(s.call("bob", "GET", "/api/v1/uploads/a1").status, 403);
  EXPECT_EQ(s.call("bob", "POST", "/api/v1/uploads?name=a1", s.input_bundle()).status, 409);
  EXPECT_EQ(s.call_json("bob", "GET", "/api/v1/jobs", 200)["jobs"].size(), 0u);
  EXPECT_EQ(s.call("bob", "GET", "/api/v1/jobs?owner=alice").status, 403);
  EXPECT_EQ(s.call_json("alice", "GET", "/api/v1/jobs", 200)["jobs"].size(), 1u);
  EXPECT_EQ(s.call_json("admin", "GET", "/api/v1/jobs?owner=alice", 200)["jobs"].size(), 1u);
  EXPECT_EQ(s.call_json("bob", "GET", "/api/v1/uploads", 200)["uploads"].size(), 0u);
  EXPECT_EQ(s.call_json("admin", "GET", "/api/v1/whoami", 200), json({{"subject", "root"}, {"admin", true}}));
  // A running job cannot be deleted; its owner cancels it.
  EXPECT_EQ(s.call("alice", "DELETE", jp).status, 409);
  json c = s.call_json("alice", "POST", jp + "/cancel", 200);
  EXPECT_EQ(c["state"], "cancelled");
  EXPECT_EQ(c["reason"], "cancelled by alice");
  EXPECT_EQ(s.call("alice", "POST", jp + "/cancel").status, 409);
}

TEST(ServiceApi, TheInferenceServersModelsAreListed) {
  {
    Server s;  // publishing nowhere
    const json none = s.call_json("alice", "GET", "/api/v1/models", 200);
    EXPECT_EQ(none["models"], json::array());
    EXPECT_EQ(none["inference_server"], "");
    EXPECT_EQ(s.call("", "GET", "/api/v1/models").status, 401);
  }
  std::string answer = R"([{"name": "tth", "version": "2", "ready": true}])";
  Server s(100, 1 << 20, [&answer] { return answer; });
  const json listed = s.call_json("bob", "GET", "/api/v1/models", 200);
  EXPECT_EQ(listed["inference_server"], "http://127.0.0.1:1");
  EXPECT_EQ(listed["models"][0]["name"], "tth");
  answer = "<html>not json";
  EXPECT_GE(s.call("bob", "GET", "/api/v1/models").status, 500);
}

TEST(ServiceApi, BadRequestsGetTheirStatus) {
  Server s(/*max_queued=*/1, /*max_body=*/64 << 10);
  EXPECT_EQ(s.call("", "GET", "/api/v1/jobs").status, 401);
  EXPECT_EQ(s.call("mallory", "GET", "/api/v1/jobs").status, 401);
  EXPECT_EQ(s.call("", "POST", "/submit", "{}").status, 401);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/uploads?name=big", std::string(100 << 10, 'x')).status, 413);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/uploads?name=x", "not gzip").status, 400);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/uploads?name=../x", s.input_bundle()).status, 400);
  // curl removes literal dot segments before sending: encoded ones reach the server.
  EXPECT_EQ(s.call("alice", "GET", "/api/v1/uploads/%2E%2E").status, 400);
  EXPECT_EQ(s.call("alice", "GET", "/api/v1/jobs/abc").status, 400);
  EXPECT_EQ(s.call("alice", "GET", "/api/v1/jobs/999").status, 404);
  EXPECT_EQ(s.call("alice", "GET", "/api/v1/jobs?state=done").status, 400);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/jobs", "{nope").status, 400);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/jobs", R"({"upload": "missing"})").status, 404);
  // Shell text and traversal are data: a name that is refused, a file the upload does not have.
  s.call_json("alice", "POST", "/api/v1/uploads?name=in", 201, s.input_bundle(8));
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/jobs", R"({"upload": "in", "name": "x; rm -rf /"})").status, 400);
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/jobs", R"({"upload": "in", "files": ["../../jobs.db"], "labels": [1]})").status, 400);
  const int64_t id = s.call_json("alice", "POST", "/api/v1/jobs", 201, R"({"upload": "in"})")["id"];
  const std::string jp = "/api/v1/jobs/" + std::to_string(id);
  EXPECT_EQ(s.call("alice", "GET", jp + "/artifacts/%2E%2E").status, 400);
  EXPECT_EQ(s.call("alice", "GET", jp + "/artifacts/%2E%2E%2Fjobs.db").status, 400);
  EXPECT_EQ(s.call("alice", "GET", jp + "/artifacts/%2E%2E/%2E%2E").status, 400);
  EXPECT_EQ(s.call("alice", "GET", jp + "/artifacts/missing.json").status, 404);
  // One CPU, one job running and max_queued = 1: the second queued submission is refused.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (s.call_json("alice", "GET", jp, 200)["state"] == "queued" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(s.call("alice", "POST", "/api/v1/jobs", R"({"upload": "in"})").status, 201);
  const auto full = s.call("alice", "POST", "/api/v1/jobs", R"({"upload": "in"})");
  EXPECT_EQ(full.status, 429) << full.body;
  EXPECT_NE(full.body.find("queue is full"), std::string::npos);
  s.call("alice", "POST", jp + "/cancel");
}

TEST(ServiceApi, TheReferenceServersEndpoints) {
  Server s;
  // /upload?name=NAME with a multipart file part, /submit naming files of that upload.
  const std::string body = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"myinputs.tar.gz\"\r\n"
                           "Content-Type: application/gzip\r\n\r\n" + s.input_bundle() + "\r\n--B--\r\n";
  EXPECT_EQ(s.call("alice", "POST", "/upload?name=luca", body, {"Content-Type: multipart/form-data; boundary=B"}).status, 201);
  json sub = s.call_json("alice", "POST", "/submit", 201, R"({"name": "luca", "device": "cpu", "memory": "1G",
      "cpus": 1, "files": "files.txt", "labels": "labels.txt", "model": "model.json", "params": "params.json",
      "fout": "out"})");
  const int64_t id = sub["job_id"];
  EXPECT_EQ(sub["process_name"], "luca_" + std::to_string(id));
  s.wait_final("alice", id);
  json st = s.call_json("alice", "GET", "/status?process_name=luca_" + std::to_string(id), 200);
  EXPECT_EQ(st["status"], "succeeded");
  EXPECT_EQ(s.call_json("alice", "GET", "/status_docker?job_id=" + std::to_string(id), 200)["status"], "succeeded");
  auto logs = s.call("alice", "GET", "/logs?process_name=luca_" + std::to_string(id) + "&log_file=logs.txt");
  EXPECT_EQ(logs.status, 200);
  EXPECT_NE(logs.body.find("started"), std::string::npos);
  EXPECT_EQ(logs.headers["content-disposition"], "attachment; filename=\"logs.txt\"");
  EXPECT_EQ(s.call("alice", "GET", "/model?process_name=luca_" + std::to_string(id)).status, 200);
  EXPECT_EQ(s.call("bob", "GET", "/status?process_name=luca_" + std::to_string(id)).status, 403);
  // /delete_specs: the specs files a user kept in the upload, nothing else.
  const fs::path upload = s.dir / "uploads" / "luca";
  std::ofstream(upload / "specs.json") << "{}";
  std::ofstream(upload / "data" / "specs_sig.json") << "{}";
  EXPECT_EQ(s.call("bob", "GET", "/delete_specs?name=luca").status, 403);
  EXPECT_TRUE(fs::exists(upload / "specs.json"));
  json removed = s.call_json("alice", "GET", "/delete_specs?name=luca", 200);
  EXPECT_EQ(removed["deleted"].size(), 2u) << removed.dump();
  EXPECT_FALSE(fs::exists(upload / "specs.json"));
  EXPECT_FALSE(fs::exists(upload / "data" / "specs_sig.json"));
  EXPECT_TRUE(fs::exists(upload / "params.json"));
  EXPECT_EQ(s.call_json("alice", "DELETE", "/api/v1/uploads/luca/specs", 200)["deleted"], json::array());
  EXPECT_EQ(s.call("alice", "GET", "/delete_specs?name=..%2Fluca").status, 400);
  EXPECT_EQ(s.call("alice", "GET", "/delete_folder?name=luca").status, 200);
  EXPECT_EQ(s.call("alice", "GET", "/api/v1/uploads/luca").status, 404);
}

// Bounded load: 200 submissions from 20 concurrent clients against a queue limit of 150, then 1,000
// status polls from 10 clients. Every submission is accepted (201) or explicitly refused (429),
// none is lost (the store holds exactly the accepted ones), and the server keeps answering. The
// poll latencies are printed, not asserted (bench/service/load.sh measures them with hey).
TEST(ServiceApi, TwoHundredConcurrentSubmissionsAreAcceptedOrRefusedNoneLost) {
  Server s(/*max_queued=*/150);
  s.call_json("alice", "POST", "/api/v1/uploads?name=in", 201, s.input_bundle(8));  // each job runs 30 s
  std::atomic<int> accepted{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 20; ++t)
    clients.emplace_back([&] {
      CurlClient c;
      for (int i = 0; i < 10; ++i) {
        const auto r = c.request("POST", s.base + "/api/v1/jobs", R"({"upload": "in"})", {"Authorization: Bearer alice"});
        (r.status == 201 ? accepted : r.status == 429 ? refused : other)++;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(accepted + refused, 200);
  EXPECT_GE(accepted.load(), 150);  // one may have left the queue for the CPU meanwhile
  EXPECT_EQ(s.store->count(), accepted.load());
  EXPECT_GT(refused.load(), 0);

  std::vector<std::vector<double>> ms(10);
  std::atomic<int> poll_failures{0};
  clients.clear();
  for (int t = 0; t < 10; ++t)
    clients.emplace_back([&, t] {
      CurlClient c;
      for (int i = 0; i < 100; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = c.request("GET", s.base + "/api/v1/jobs/" + std::to_string(1 + (t * 100 + i) % 150), {},
                                 {"Authorization: Bearer alice"});
        ms[t].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        if (r.status != 200) ++poll_failures;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(poll_failures.load(), 0);
  std::vector<double> all;
  for (const auto& v : ms) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  std::printf("200 submissions: %d accepted, %d refused (429); 1,000 status polls: p50 %.2f ms, p99 %.2f ms\n",
              accepted.load(), refused.load(), all[all.size() / 2], all[all.size() * 99 / 100]);
}

}  // namespace
}  // namespace m4h::test
