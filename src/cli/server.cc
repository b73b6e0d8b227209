#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "cli/commands.h"
#include "cli/listen_options.h"
#include "cli/stop_signals.h"
#include "core/error.h"
#include "http/router.h"
#include "http/server.h"
#include "serve/client.h"
#include "serve/model.h"
#include "serve/service.h"
#include "service/api.h"
#include "service/dashboard.h"
#include "service/oidc.h"

namespace m4h::cli {

void add_server(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "server",
      "The workflow server: users upload inputs and submit training workflows over HTTP (REST API under "
      "/api/v1, and the reference MLaaS4HEP server's /upload, /submit, /status, /logs, /model), follow them, "
      "and find the trained models published to an inference server: an embedded one (--serve-port) or "
      "another `mlaas4hep serve` (--publish). Jobs are kept in STATE/jobs.db and survive restarts. Stops on "
      "SIGINT/SIGTERM; running jobs go on and are found again by the next start");
  struct Options {
    http::ServerOptions http;
    std::string state = "mlaas4hep-server";
    std::string auth = "none";
    int cpus = 0;
    int64_t max_queued = 1000;
    int64_t max_upload_mb = 1024;
    std::vector<std::string> data_roots;
    int max_job_cpus = 0;
    int64_t max_job_memory_mb = 0;
    std::string publish;
    int serve_port = -1;
    std::string access_log;
    service::OidcOptions oidc;
    std::string executor = "local";
    std::string dashboard_dir;
    service::SlurmOptions slurm;
  };
  auto o = std::make_shared<Options>();
  o->http.port = 8090;
  add_listen_options(*cmd, o->http, o->access_log);
  cmd->add_option("--state", o->state, "state folder: jobs.db, jobs/ID/, uploads/, models/")->capture_default_str();
  cmd->add_option("--auth", o->auth,
                  "authentication: oidc (bearer tokens from --issuer, checked here) or none (one local user, an "
                  "admin; for one machine only)")
      ->check(CLI::IsMember({"none", "oidc"}))
      ->capture_default_str();
  cmd->add_option("--issuer", o->oidc.issuer, "OIDC issuer URL (its /.well-known/openid-configuration gives the keys)");
  cmd->add_option("--audience", o->oidc.audience, "the aud tokens must carry");
  cmd->add_option("--roles-claim", o->oidc.roles_claim, "claim with the user's groups, roles or scopes")
      ->capture_default_str();
  cmd->add_option("--admin-role", o->oidc.admin_role, "value of that claim that makes an admin (sees all jobs)")
      ->capture_default_str();
  cmd->add_option("--user-role", o->oidc.user_role, "value of that claim every user needs (default: none needed)");
  cmd->add_option("--ca-file", o->oidc.ca_file, "CA bundle to reach an https issuer");
  cmd->add_option("--executor", o->executor,
                  "where jobs run: local (processes on this machine) or slurm (batch jobs through sbatch; STATE "
                  "must be on a file system the compute nodes share)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  cmd->add_option("--slurm-partition", o->slurm.partition, "Slurm partition for jobs (default: the cluster's)");
  cmd->add_option("--slurm-account", o->slurm.account, "Slurm account charged for jobs");
  cmd->add_option("--slurm-arg", o->slurm.sbatch_args, "one more sbatch option, e.g. --slurm-arg=--time=2:00:00 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--slurm-bin-dir", o->slurm.bin_dir, "folder of sbatch, squeue, scontrol, scancel (default: PATH)");
  cmd->add_option("--dashboard-dir", o->dashboard_dir,
                  "folder of the web dashboard's files (default: dashboard/ beside the executable, or "
                  "../share/mlaas4hep/dashboard); served at /dashboard/");
  cmd->add_option("--cpus", o->cpus,
                  "CPUs that running jobs share (0: this machine's; with --executor slurm, the CPUs the server keeps "
                  "submitted to the cluster at once)")
      ->capture_default_str();
  cmd->add_option("--max-queued", o->max_queued, "queued jobs past which submissions get 429")->capture_default_str();
  cmd->add_option("--max-upload-mb", o->max_upload_mb, "largest request body (uploads): 413 above")->capture_default_str();
  cmd->add_option("--data-root", o->data_roots, "a local folder whose files users may name in workflows (repeatable)");
  cmd->add_option("--max-job-cpus", o->max_job_cpus, "most CPUs one job may ask for (0: --cpus)")->capture_default_str();
  cmd->add_option("--max-job-memory-mb", o->max_job_memory_mb, "most memory one job may ask for (0: no cap)")
      ->capture_default_str();
  auto* publish = cmd->add_option("--publish", o->publish,
                                  "publish succeeded jobs' bundles to this inference server (http://host:port of "
                                  "`mlaas4hep serve`), under the job's name");
  cmd->add_option("--serve-port", o->serve_port,
                  "also serve the published models here, in this process (an embedded `mlaas4hep serve` on "
                  "STATE/models; 0: any free port, printed)")
      ->excludes(publish);
  cmd->callback([o] {
    namespace fs = std::filesystem;
    fs::create_directories(o->state);
    const std::string state = fs::canonical(o->state).string();
    if (!o->access_log.empty()) o->http.access_log = http::open_access_log(o->access_log);
    o->http.max_body_bytes = static_cast<size_t>(o->max_upload_mb) << 20;
    StopSignals stop_signals;

    std::unique_ptr<service::OidcVerifier> verifier;
    service::Authenticator authenticate = service::no_authentication();
    if (o->auth == "oidc") {
      if (o->oidc.issuer.empty() || o->oidc.audience.empty())
        throw Error(ErrorCode::kInvalidArgument, "--auth oidc needs --issuer and --audience");
      verifier = std::make_unique<service::OidcVerifier>(o->oidc);
      verifier->refresh();  // an unreachable issuer stops the start here, with its URL
      authenticate = verifier->authenticator();
    } else {
      std::fprintf(stderr,
                   "mlaas4hep server: WARNING: --auth none: every request acts as the one local user, an admin. "
                   "Use it on a single machine only (the server listens on %s)\n",
                   o->http.host.c_str());
    }
    auto log = [](std::string_view line) {
      static std::mutex m;
      std::lock_guard lock(m);
      std::fprintf(stderr, "mlaas4hep server: %.*s\n", static_cast<int>(line.size()), line.data());
    };

    // The embedded inference server, when asked for.
    std::unique_ptr<serve::Repository> repository;
    std::unique_ptr<serve::Service> inference;
    std::unique_ptr<http::Server> inference_server;
    service::JobServiceOptions jo;
    if (o->serve_port >= 0) {
      serve::RepositoryOptions ro;
      ro.root = state + "/models";
      fs::create_directories(ro.root);
      repository = serve::make_repository(ro);
      inference = std::make_unique<serve::Service>(*repository, nullptr);
      http::ServerOptions so;
      so.host = o->http.host;
      so.port = static_cast<uint16_t>(o->serve_port);
      inference_server = std::make_unique<http::Server>(so, inference->handler());
      jo.publish = [r = repository.get()](const service::Job& j, const std::string& bundle) {
        return j.name + "/" + r->add_bundle(j.name, bundle);
      };
    } else if (!o->publish.empty()) {
      jo.publish = [url = o->publish](const service::Job& j, const std::string& bundle) {
        serve::Client client(url);
        const auto answer = nlohmann::json::parse(client.upload(j.name, bundle), nullptr, false);
        return j.name + "/" + (answer.is_object() ? answer.value("version", "?") : std::string("?"));
      };
    }

    service::JobStore store(state + "/jobs.db");
    auto executor = o->executor == "slurm" ? service::make_slurm_executor(o->slurm) : service::make_local_executor();
    jo.state_dir = state;
    std::error_code ec;
    jo.ml_executable = fs::read_symlink("/proc/self/exe", ec).string();
    jo.cpus = o->cpus;
    jo.pin_cpus = o->executor == "local";
    jo.max_queued = o->max_queued;
    jo.log = log;
    service::JobService jobs(store, *executor, jo);
    service::ApiOptions ao;
    ao.uploads_dir = state + "/uploads";
    ao.limits.data_roots = o->data_roots;
    ao.limits.max_cpus = o->max_job_cpus > 0 ? o->max_job_cpus : jobs.options().cpus;
    ao.limits.max_memory_mb = o->max_job_memory_mb;
    std::string inference_url;
    if (inference_server) inference_url = "http://" + o->http.host + ":" + std::to_string(inference_server->port());
    else inference_url = o->publish;
    if (!inference_url.empty()) {
      ao.inference_url = inference_url;
      ao.list_models = [inference_url] { return serve::Client(inference_url, 10).models(); };
    }
    service::Api api(jobs, store, authenticate, ao);
    http::Router router;
    api.add_routes(router);
    const std::string dashboard = o->dashboard_dir.empty() ? service::find_dashboard_dir(jo.ml_executable) : o->dashboard_dir;
    if (!dashboard.empty()) service::add_dashboard_routes(router, dashboard);
    else log("no dashboard files found (--dashboard-dir): /dashboard/ is not served");
    http::Server server(o->http, router.handler());
    const char* scheme = o->http.tls_cert_file.empty() ? "http" : "https";
    std::printf("mlaas4hep server: listening on %s://%s:%u (state: %s, %d CPUs for jobs on the %s executor, auth: %s)\n",
                scheme, o->http.host.c_str(), static_cast<unsigned>(server.port()), state.c_str(), jobs.options().cpus,
                executor->name().c_str(),
                o->auth == "oidc" ? ("oidc, issuer " + o->oidc.issuer).c_str() : "none");
    if (!dashboard.empty())
      std::printf("mlaas4hep server: dashboard on %s://%s:%u/dashboard/\n", scheme, o->http.host.c_str(),
                  static_cast<unsigned>(server.port()));
    if (inference_server)
      std::printf("mlaas4hep server: inference server on http://%s:%u (models: %s/models)\n", o->http.host.c_str(),
                  static_cast<unsigned>(inference_server->port()), state.c_str());
    std::fflush(stdout);
    const int sig = stop_signals.wait();
    std::printf("mlaas4hep server: signal %d, stopping (running jobs go on)\n", sig);
    std::fflush(stdout);
    server.stop();
    if (inference_server) inference_server->stop();
  });
}

}  // namespace m4h::cli
