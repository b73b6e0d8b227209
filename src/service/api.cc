#include "service/api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <list>
#include <mutex>
#include <thread>

#include "core/archive.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "http/errors.h"
#include "http/multipart.h"

namespace m4h::service {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxLogChunk = 1 << 20;  // bytes of log per answer
constexpr int64_t kMaxLogWaitMs = 30000;

http::Response json_response(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

[[noreturn]] void bad(const std::string& m) { throw Error(ErrorCode::kInvalidArgument, m); }

std::string read_file(const fs::path& p, int64_t offset = 0, int64_t max = INT64_MAX) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "no file " + p.filename().string());
  in.seekg(offset);
  std::string s;
  if (max == INT64_MAX) {
    s.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    s.resize(static_cast<size_t>(max));
    in.read(s.data(), max);
    s.resize(static_cast<size_t>(in.gcount()));
  }
  return s;
}

int64_t parse_id(const std::string& s, const char* what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) bad(std::string(what) + ": '" + s + "' is not an id");
  return v;
}

int64_t int_param(const http::Request& req, const char* name, int64_t def) {
  const std::string v = req.query_param(name);
  if (v.empty()) return def;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) bad(std::string(name) + ": '" + v + "' is not a number");
  return out;
}

std::string random_id() { return "u-" + random_hex(12); }

json job_json(const Job& j) {
  json w = json::parse(j.workflow, nullptr, false);
  const std::string base = "/api/v1/jobs/" + std::to_string(j.id);
  return {{"id", j.id},
          {"name", j.name},
          {"owner", j.owner},
          {"state", job_state_name(j.state)},
          {"executor", j.executor},
          {"resources", {{"cpus", j.resources.cpus}, {"memory_mb", j.resources.memory_mb}, {"device", j.resources.device}}},
          {"created_ms", j.created_ms},
          {"started_ms", j.started_ms ? json(j.started_ms) : json(nullptr)},
          {"finished_ms", j.finished_ms ? json(j.finished_ms) : json(nullptr)},
          {"exit_code", j.exit_code >= 0 ? json(j.exit_code) : json(nullptr)},
          {"reason", j.reason},
          {"published", j.published},
          {"workflow", w.is_discarded() ? json(nullptr) : w},
          {"links", {{"self", base}, {"log", base + "/log"}, {"artifacts", base + "/artifacts"}}}};
}

std::string content_type_of(const fs::path& p) {
  const std::string e = p.extension().string();
  if (e == ".json") return "application/json";
  if (e == ".svg") return "image/svg+xml";
  if (e == ".png") return "image/png";
  if (e == ".txt" || e == ".log" || e == ".dat" || e == ".gp" || e == ".csv") return "text/plain; charset=utf-8";
  if (e == ".gz") return "application/gzip";
  return "application/octet-stream";
}

}  // namespace

Authenticator no_authentication() {
  return [](const http::Request&) { return Principal{"local", true}; };
}

struct Api::Impl {
  JobService& jobs;
  JobStore& store;
  Authenticator authenticate;
  ApiOptions options;
  ThreadPool pool;

  struct LogWait {
    int64_t id;
    int64_t offset;
    Clock::time_point deadline;
    http::Responder respond;
  };
  std::mutex waits_mutex;
  std::condition_variable waits_cv;
  std::list<LogWait> waits;
  bool stopping = false;
  std::thread waiter;

  Impl(JobService& j, JobStore& s, Authenticator a, ApiOptions o)
      : jobs(j), store(s), authenticate(std::move(a)), options(std::move(o)),
        pool(static_cast<size_t>(std::max(1, options.worker_threads))) {
    fs::create_directories(options.uploads_dir);
    waiter = std::thread([this] { wait_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(waits_mutex);
      stopping = true;
    }
    waits_cv.notify_all();
    waiter.join();
  }

  // Runs fn(request, principal) on the pool and answers with what it returns (or its error).
  template <typename Fn>
  http::Handler handler(Fn fn) {
    return [self = this, fn](http::Request& req, http::Responder respond) {
      auto r = std::make_shared<http::Request>(std::move(req));
      self->pool.submit([self, fn, r, respond] {
        http::answer_errors(respond, [&] {
          const Principal p = self->authenticate(*r);
          respond(fn(*self, *r, p, respond));
        });
      });
    };
  }

  // The job, when the principal may see it: 404 (no such job) or 403 (someone else's).
  Job visible_job(const std::string& id_text, const Principal& p) {
    const int64_t id = parse_id(id_text, "job");
    auto j = store.get(id);
    if (!j) throw Error(ErrorCode::kNotFound, "no job " + std::to_string(id));
    if (j->owner != p.subject && !p.admin)
      throw Error(ErrorCode::kPermissionDenied, "job " + std::to_string(id) + " belongs to another user");
    return *j;
  }

  // ---- uploads
  fs::path upload_dir(const std::string& id) const { return fs::path(options.uploads_dir) / id; }

  // The folder of upload `id` when the principal owns it (or is an admin).
  fs::path visible_upload(const std::string& id, const Principal& p) {
    if (!is_safe_name(id)) bad("upload: '" + id + "' is not an upload id");
    const fs::path d = upload_dir(id);
    std::error_code ec;
    if (!fs::is_directory(d, ec)) throw Error(ErrorCode::kNotFound, "no upload " + id);
    const std::string owner = read_file(d / ".owner");
    if (owner != p.subject && !p.admin) throw Error(ErrorCode::kPermissionDenied, "upload " + id + " belongs to another user");
    return d;
  }

  static json upload_files(const fs::path& d) {
    json files = json::array();
    for (auto it = fs::recursive_directory_iterator(d); it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_regular_file() || it->path().filename() == ".owner") continue;
      files.push_back(fs::relative(it->path(), d).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  json make_upload(const http::Request& req, const Principal& p, std::string id) {
    if (id.empty()) id = random_id();
    if (!is_safe_name(id)) bad("upload: name '" + id + "' (letters, digits, '_', '.', '-'; at most 64)");
    std::string_view data = req.body;
    const std::string boundary = http::multipart_boundary(req.header("content-type"));
    if (!boundary.empty()) {
      data = {};
      for (const auto& part : http::parse_multipart(req.body, boundary))
        if (!part.filename.empty() || part.name == "file") data = part.data;
      if (data.empty()) bad("upload: no file part in the form");
    }
    if (data.size() < 2 || static_cast<unsigned char>(data[0]) != 0x1f || static_cast<unsigned char>(data[1]) != 0x8b)
      bad("upload: not gzip data (send a .tar.gz of the folder)");
    const fs::path final_dir = upload_dir(id);
    std::error_code ec;
    if (fs::exists(final_dir, ec) && read_file(final_dir / ".owner") != p.subject)
      throw Error(ErrorCode::kConflict, "upload " + id + " exists and belongs to another user");
    const std::string tag = random_id();
    const fs::path archive = fs::path(options.uploads_dir) / (".incoming-" + tag + ".tar.gz");
    const fs::path staging = fs::path(options.uploads_dir) / (".staging-" + tag);
    struct Cleanup {
      fs::path a, s;
      ~Cleanup() {
        std::error_code e;
        fs::remove(a, e);
        fs::remove_all(s, e);
      }
    } cleanup{archive, staging};
    {
      std::ofstream out(archive, std::ios::binary);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out) throw Error(ErrorCode::kIo, "upload: cannot spool the archive");
    }
    extract_tar_gz(archive.string(), staging.string());
    // A tarball of one folder (as the reference's clients make them): that folder is the upload.
    fs::path root = staging;
    std::vector<fs::path> top;
    for (const auto& e : fs::directory_iterator(staging)) top.push_back(e.path());
    if (top.size() == 1 && fs::is_directory(top[0])) root = top[0];
    std::ofstream(root / ".owner") << p.subject;
    fs::remove_all(final_dir, ec);  // the same user uploads again: the new files replace the old
    fs::rename(root, final_dir);
    return {{"upload", id}, {"owner", p.subject}, {"files", upload_files(final_dir)}};
  }

  // ---- jobs
  json submit(const std::string& body, const Principal& p) {
    WorkflowContext ctx = options.limits;
    const std::string up = upload_of(body);
    if (!up.empty()) ctx.upload_dir = visible_upload(up, p).string();
    const Workflow w = parse_workflow(body, ctx);
    return job_json(jobs.submit(p.subject, w));
  }

  // ---- logs: answered by the waiter thread when there is news, the job ends, or time is up
  http::Response log_response(const Job& j, int64_t offset) {
    const fs::path log = fs::path(jobs.job_dir(j.id)) / "log.txt";
    std::error_code ec;
    const int64_t size = fs::exists(log, ec) ? static_cast<int64_t>(fs::file_size(log, ec)) : 0;
    http::Response r;
    r.content_type = "text/plain; charset=utf-8";
    if (offset < size) r.body = read_file(log, offset, std::min(kMaxLogChunk, size - offset));
    r.headers = {{"X-Log-Offset", std::to_string(offset + static_cast<int64_t>(r.body.size()))},
                 {"X-Job-State", std::string(job_state_name(j.state))}};
    return r;
  }

  void wait_loop() {
    std::unique_lock lock(waits_mutex);
    while (!stopping) {
      waits_cv.wait_for(lock, std::chrono::milliseconds(100));
      for (auto it = waits.begin(); it != waits.end();) {
        bool done = stopping || Clock::now() >= it->deadline;
        std::optional<Job> j;
        try {
          j = store.get(it->id);
          const fs::path log = fs::path(jobs.job_dir(it->id)) / "log.txt";
          std::error_code ec;
          const auto size = fs::exists(log, ec) ? static_cast<int64_t>(fs::file_size(log, ec)) : 0;
          done = done || !j || is_final(j->state) || size > it->offset;
          if (done) {
            if (j)
              it->respond(log_response(*j, it->offset));
            else
              it->respond(http::error_response(404, "no job " + std::to_string(it->id)));
          }
        } catch (...) {
          it->respond(http::error_response(std::current_exception()));
          done = true;
        }
        it = done ? waits.erase(it) : std::next(it);
      }
    }
  }

  // ---- artifacts
  static json artifact_list(const fs::path& bundle) {
    json files = json::array();
    std::error_code ec;
    if (!fs::is_directory(bundle, ec)) return files;
    for (auto it = fs::recursive_directory_iterator(bundle); it != fs::recursive_directory_iterator(); ++it)
      if (it->is_regular_file())
        files.push_back({{"path", fs::relative(it->path(), bundle).string()}, {"bytes", it->file_size()}});
    std::sort(files.begin(), files.end(), [](const json& a, const json& b) { return a["path"] < b["path"]; });
    return files;
  }

  http::Response artifact(const Job& j, const std::vector<std::string>& parts) {
    for (const auto& s : parts)
      if (!is_safe_name(s)) bad("artifact: '" + s + "' is not an artifact name");
    const fs::path bundle = fs::path(jobs.job_dir(j.id)) / "bundle";
    http::Response r;
    if (parts.size() == 1 && parts[0] == "bundle.tar.gz") {
      std::error_code ec;
      if (!fs::is_directory(bundle, ec)) throw Error(ErrorCode::kNotFound, "job " + std::to_string(j.id) + " has no bundle (yet)");
      const fs::path tgz = fs::path(jobs.job_dir(j.id)) / (".bundle-" + random_id() + ".tar.gz");
      make_tar_gz(bundle.string(), tgz.string());
      r.body = read_file(tgz);
      fs::remove(tgz, ec);
      r.content_type = "application/gzip";
      r.headers = {{"Content-Disposition", "attachment; filename=\"" + j.name + ".tar.gz\""}};
      return r;
    }
    fs::path p = bundle;
    for (const auto& s : parts) p /= s;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw Error(ErrorCode::kNotFound, "job " + std::to_string(j.id) + " has no artifact " + p.lexically_relative(bundle).string());
    r.body = read_file(p);
    r.content_type = content_type_of(p);
    return r;
  }

  // ---- the reference's names: "NAME_ID" process names
  Job job_of_process(const http::Request& req, const Principal& p) {
    std::string id = req.query_param("job_id");
    if (id.empty()) {
      const std::string name = req.query_param("process_name");
      const size_t us = name.rfind('_');
      if (us == std::string::npos) bad("process_name: 'NAME_ID', as /submit answered");
      id = name.substr(us + 1);
    }
    return visible_job(id, p);
  }

  // /submit's body (name, device, memory, cpus, files, labels, model, params, fout) as a workflow:
  // its files, labels and params name files of the upload called NAME.
  json submit_reference(const std::string& body, const Principal& p) {
    const json in = json::parse(body, nullptr, false);
    if (in.is_discarded() || !in.is_object()) bad("submit: the body is not a JSON object");
    json w = json::object();
    const std::string name = in.value("name", "");
    w["name"] = name;
    fs::path up;
    if (!name.empty() && fs::is_directory(upload_dir(name))) {
      up = visible_upload(name, p);
      w["upload"] = name;
    }
    auto from_upload = [&](const char* key, bool as_list) {
      if (!in.contains(key)) return;
      const json& v = in[key];
      std::error_code ec;
      if (v.is_string() && !up.empty() && is_safe_name(v.get<std::string>()) && fs::is_regular_file(up / v.get<std::string>(), ec)) {
        const std::string text = read_file(up / v.get<std::string>());
        w[key] = as_list ? json(text) : json::parse(text, nullptr, false);
        if (as_list) {  // files.txt / labels.txt: one per line
          std::string t = text;
          std::replace(t.begin(), t.end(), '\n', ',');
          w[key] = t;
        }
      } else {
        w[key] = v;
      }
    };
    from_upload("files", true);
    from_upload("labels", true);
    from_upload("params", false);
    if (in.contains("model")) w["model"] = in["model"];
    json res = json::object();
    if (in.contains("cpus")) res["cpus"] = in["cpus"];
    if (in.contains("memory")) res["memory"] = in["memory"].is_number() ? json(in["memory"].dump() + "M") : in["memory"];
    if (in.contains("device")) res["device"] = in["device"] == "gpu" ? json("cuda") : in["device"];
    if (!res.empty()) w["resources"] = res;
    const json job = submit(w.dump(), p);
    return {{"process_name", job["name"].get<std::string>() + "_" + std::to_string(job["id"].get<int64_t>())},
            {"job_id", job["id"]}};
  }
};

Api::Api(JobService& jobs, JobStore& store, Authenticator authenticate, ApiOptions options)
    : impl_(std::make_unique<Impl>(jobs, store, std::move(authenticate), std::move(options))) {}

Api::~Api() = default;

void Api::add_routes(http::Router& router) {
  using R = http::Response;
  using Req = const http::Request&;
  using P = const Principal&;
  auto& im = *impl_;

  router.add("GET", "/api/v1/whoami", im.handler([](Impl&, Req, P p, const http::Responder&) {
    return json_response(200, {{"subject", p.subject}, {"admin", p.admin}});
  }));

  router.add("GET", "/api/v1/models", im.handler([](Impl& s, Req, P, const http::Responder&) {
    json models = json::array();
    if (s.options.list_models) {
      models = json::parse(s.options.list_models(), nullptr, false);
      if (models.is_discarded()) throw Error(ErrorCode::kIo, "the inference server's model list is not JSON");
    }
    return json_response(200, {{"inference_server", s.options.inference_url}, {"models", models}});
  }));

  // uploads
  auto upload = [](Impl& s, Req req, P p, const http::Responder&) {
    return json_response(201, s.make_upload(req, p, req.query_param("name")));
  };
  router.add("POST", "/api/v1/uploads", im.handler(upload));
  router.add("POST", "/upload", im.handler(upload));
  router.add("GET", "/api/v1/uploads", im.handler([](Impl& s, Req, P p, const http::Responder&) {
    json list = json::array();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(s.options.uploads_dir, ec)) {
      const std::string id = e.path().filename().string();
      if (!e.is_directory() || !is_safe_name(id)) continue;
      std::error_code oe;
      if (!fs::is_regular_file(e.path() / ".owner", oe)) continue;
      const std::string owner = read_file(e.path() / ".owner");
      if (owner == p.subject || p.admin) list.push_back({{"upload", id}, {"owner", owner}});
    }
    return json_response(200, {{"uploads", list}});
  }));
  router.add("GET", "/api/v1/uploads/{id}", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    const fs::path d = s.visible_upload(req.params.at("id"), p);
    return json_response(200, {{"upload", req.params.at("id")}, {"files", Impl::upload_files(d)}});
  }));
  auto delete_upload = [](Impl& s, const std::string& id, P p) {
    const fs::path d = s.visible_upload(id, p);
    fs::remove_all(d);
    return json_response(200, {{"deleted", id}});
  };
  router.add("DELETE", "/api/v1/uploads/{id}", im.handler([delete_upload](Impl& s, Req req, P p, const http::Responder&) {
    return delete_upload(s, req.params.at("id"), p);
  }));
  for (const char* method : {"GET", "POST", "DELETE"})
    router.add(method, "/delete_folder", im.handler([delete_upload](Impl& s, Req req, P p, const http::Responder&) {
      return delete_upload(s, req.query_param("name"), p);
    }));

  // Specs files (specs*.json) a user kept in an upload, removed so that the next job computes them
  // afresh (the reference's /delete_specs; our jobs also recompute specs whose inputs changed).
  auto delete_specs = [](Impl& s, const std::string& id, P p) {
    const fs::path d = s.visible_upload(id, p);
    json deleted = json::array();
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      const std::string f = e.path().filename().string();
      if (e.is_regular_file() && f.rfind("specs", 0) == 0 && e.path().extension() == ".json") {
        deleted.push_back(fs::relative(e.path(), d).string());
        fs::remove(e.path());
      }
    }
    return json_response(200, {{"upload", id}, {"deleted", deleted}});
  };
  router.add("DELETE", "/api/v1/uploads/{id}/specs", im.handler([delete_specs](Impl& s, Req req, P p, const http::Responder&) {
    return delete_specs(s, req.params.at("id"), p);
  }));
  for (const char* method : {"GET", "POST", "DELETE"})
    router.add(method, "/delete_specs", im.handler([delete_specs](Impl& s, Req req, P p, const http::Responder&) {
      return delete_specs(s, req.query_param("name"), p);
    }));

  // jobs
  router.add("POST", "/api/v1/jobs", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return json_response(201, s.submit(req.body, p));
  }));
  router.add("POST", "/submit", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return json_response(201, s.submit_reference(req.body, p));
  }));
  router.add("GET", "/api/v1/jobs", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    JobFilter f;
    f.owner = p.subject;
    const std::string owner = req.query_param("owner");
    if (p.admin) f.owner = owner;  // admins: everyone's, or one user's
    else if (!owner.empty() && owner != p.subject)
      throw Error(ErrorCode::kPermissionDenied, "only admins list other users' jobs");
    if (const std::string st = req.query_param("state"); !st.empty()) f.state = job_state_from_name(st);
    f.limit = std::clamp<int64_t>(int_param(req, "limit", 100), 1, 1000);
    f.before_id = int_param(req, "before", 0);
    json list = json::array();
    const auto jobs = s.store.list(f);
    for (const Job& j : jobs) list.push_back(job_json(j));
    json body = {{"jobs", list}};
    body["next_before"] = static_cast<int64_t>(jobs.size()) == f.limit ? json(jobs.back().id) : json(nullptr);
    return json_response(200, body);
  }));
  router.add("GET", "/api/v1/jobs/{id}", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return json_response(200, job_json(s.visible_job(req.params.at("id"), p)));
  }));
  router.add("DELETE", "/api/v1/jobs/{id}", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    const Job j = s.visible_job(req.params.at("id"), p);
    s.jobs.remove(j.id);
    return json_response(200, {{"deleted", j.id}});
  }));
  router.add("POST", "/api/v1/jobs/{id}/cancel", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    const Job j = s.visible_job(req.params.at("id"), p);
    return json_response(200, job_json(s.jobs.cancel(j.id, p.subject)));
  }));
  router.add("GET", "/api/v1/jobs/{id}/log", [self = impl_.get()](http::Request& req, http::Responder respond) {
    auto r = std::make_shared<http::Request>(std::move(req));
    self->pool.submit([self, r, respond] {
      http::answer_errors(respond, [&] {
        const Principal p = self->authenticate(*r);
        const Job j = self->visible_job(r->params.at("id"), p);
        const int64_t offset = int_param(*r, "offset", 0);
        const int64_t wait_ms = std::min(int_param(*r, "wait_ms", 0), kMaxLogWaitMs);
        http::Response now = self->log_response(j, offset);
        if (!now.body.empty() || wait_ms == 0 || is_final(j.state)) return respond(std::move(now));
        std::lock_guard lock(self->waits_mutex);
        self->waits.push_back({j.id, offset, Clock::now() + std::chrono::milliseconds(wait_ms), respond});
      });
    });
  });
  router.add("GET", "/api/v1/jobs/{id}/artifacts", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    const Job j = s.visible_job(req.params.at("id"), p);
    json files = Impl::artifact_list(fs::path(s.jobs.job_dir(j.id)) / "bundle");
    if (!files.empty()) files.push_back({{"path", "bundle.tar.gz"}, {"bytes", nullptr}});
    return json_response(200, {{"job", j.id}, {"artifacts", files}});
  }));
  router.add("GET", "/api/v1/jobs/{id}/artifacts/{a}", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return s.artifact(s.visible_job(req.params.at("id"), p), {req.params.at("a")});
  }));
  router.add("GET", "/api/v1/jobs/{id}/artifacts/{a}/{b}", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return s.artifact(s.visible_job(req.params.at("id"), p), {req.params.at("a"), req.params.at("b")});
  }));

  // the reference's status, logs and model
  auto status = [](Impl& s, Req req, P p, const http::Responder&) {
    const Job j = s.job_of_process(req, p);
    return json_response(200, {{"job_id", j.id},
                                {"process_name", j.name + "_" + std::to_string(j.id)},
                                {"status", job_state_name(j.state)},
                                {"reason", j.reason}});
  };
  router.add("GET", "/status", im.handler(status));
  router.add("GET", "/status_docker", im.handler(status));
  for (const char* method : {"GET", "POST"})
    router.add(method, "/logs", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
      const Job j = s.job_of_process(req, p);
      R r = s.log_response(j, 0);
      while (static_cast<int64_t>(r.body.size()) == kMaxLogChunk) {  // the whole log, as the reference sends it
        R more = s.log_response(j, static_cast<int64_t>(r.body.size()));
        if (more.body.empty()) break;
        r.body += more.body;
      }
      const std::string file = req.query_param("log_file").empty() ? "logs.txt" : req.query_param("log_file");
      if (is_safe_name(file)) r.headers.push_back({"Content-Disposition", "attachment; filename=\"" + file + "\""});
      return r;
    }));
  router.add("GET", "/model", im.handler([](Impl& s, Req req, P p, const http::Responder&) {
    return s.artifact(s.job_of_process(req, p), {"bundle.tar.gz"});
  }));
}

}  // namespace m4h::service
