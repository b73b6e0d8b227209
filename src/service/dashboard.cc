#include "service/dashboard.h"

#include <filesystem>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/text_file.h"
#include "http/errors.h"

namespace m4h::service {
namespace {

namespace fs = std::filesystem;

struct Asset {
  std::string file, content_type;
  bool optional = false;  // the page works without it (Chart.js: no charts, said on the page)
};

// Every file the dashboard has; nothing else is ever read from the folder.
const std::map<std::string, Asset>& assets() {
  static const std::map<std::string, Asset> a = {
      {"", {"index.html", "text/html; charset=utf-8"}},
      {"index.html", {"index.html", "text/html; charset=utf-8"}},
      {"app.js", {"app.js", "text/javascript; charset=utf-8"}},
      {"style.css", {"style.css", "text/css; charset=utf-8"}},
      {"chart.umd.min.js", {"chart.umd.min.js", "text/javascript; charset=utf-8", true}},
  };
  return a;
}

}  // namespace

std::string find_dashboard_dir(const std::string& exe) {
  const fs::path bin = fs::path(exe).parent_path();
  for (const fs::path& d : {bin / "dashboard", bin.parent_path() / "share" / "mlaas4hep" / "dashboard"}) {
    std::error_code ec;
    if (fs::is_regular_file(d / "index.html", ec)) return d.string();
  }
  return "";
}

void add_dashboard_routes(http::Router& router, const std::string& dir) {
  auto files = std::make_shared<std::map<std::string, http::Response>>();
  for (const auto& [name, a] : assets()) {
    const fs::path p = fs::path(dir) / a.file;
    if (!fs::is_regular_file(p) && a.optional) continue;
    if (!fs::is_regular_file(p)) throw Error(ErrorCode::kNotFound, "dashboard: " + p.string() + " is missing");
    http::Response r{200, a.content_type, {}, read_text_file(p.string())};
    // The page runs only its own scripts: a job name or log line shown in it cannot become code.
    r.headers = {{"Cache-Control", "no-cache"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Content-Security-Policy",
                  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"}};
    (*files)[name] = std::move(r);
  }
  router.add("GET", "/", [](http::Request&, http::Responder respond) {
    respond(http::Response{302, "text/plain", {{"Location", "/dashboard/"}}, "see /dashboard/\n"});
  });
  auto serve = [files](http::Request& req, http::Responder respond) {
    const auto param = req.params.find("file");
    const auto it = files->find(param == req.params.end() ? std::string() : param->second);
    if (it == files->end()) return respond(http::error_response(404, "no such dashboard file"));
    respond(it->second);
  };
  router.add("GET", "/dashboard", serve);
  router.add("GET", "/dashboard/{file}", serve);
}

}  // namespace m4h::service
