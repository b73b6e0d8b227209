// The dashboard's files are served from memory under /dashboard/ with a strict content security
// policy; nothing else of the folder (or outside it) can be asked for; a missing page is an error at
// start, a missing Chart.js is not (the page says it has no charts).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/text_file.h"
#include "http/router.h"
#include "http/server.h"
#include "service/dashboard.h"
#include "support/curl_client.h"
#include "support/temp_dir.h"

namespace m4h::test {
namespace {

TEST(Dashboard, ServesItsFilesAndNothingElse) {
  TempDir dir("dashboard");
  write_text_file((dir.path / "index.html").string(), "<!doctype html><title>t</title>");
  write_text_file((dir.path / "app.js").string(), "'use strict';");
  write_text_file((dir.path / "style.css").string(), "body {}");
  write_text_file((dir.path / "secret.txt").string(), "not for the web");
  http::Router router;
  service::add_dashboard_routes(router, dir.path.string());
  http::Server server(http::ServerOptions{}, router.handler());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  CurlClient c;

  auto root = c.request("GET", base + "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.headers["location"], "/dashboard/");
  for (const std::string path : {"/dashboard/", "/dashboard", "/dashboard/index.html"}) {
    auto page = c.request("GET", base + path);
    EXPECT_EQ(page.status, 200) << path;
    EXPECT_EQ(page.body, "<!doctype html><title>t</title>");
    EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_NE(page.headers["content-security-policy"].find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  }
  EXPECT_EQ(c.request("GET", base + "/dashboard/app.js").headers["content-type"], "text/javascript; charset=utf-8");
  for (const std::string path : {"/dashboard/secret.txt", "/dashboard/%2E%2E%2Fsecret.txt", "/dashboard/..%2F..%2Fetc%2Fpasswd",
                                 "/dashboard/chart.umd.min.js", "/dashboard/a/b"})
    EXPECT_EQ(c.request("GET", base + path).status, 404) << path;
  server.stop();
}

TEST(Dashboard, AMissingPageIsAClearError) {
  TempDir dir("dashboard");
  http::Router router;
  try {
    service::add_dashboard_routes(router, dir.path.string());
    FAIL() << "no error for an empty folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("index.html"), std::string::npos) << e.what();
  }
  EXPECT_EQ(service::find_dashboard_dir((dir.path / "bin" / "mlaas4hep").string()), "");
  std::filesystem::create_directories(dir.path / "share" / "mlaas4hep" / "dashboard");
  write_text_file((dir.path / "share" / "mlaas4hep" / "dashboard" / "index.html").string(), "x");
  EXPECT_EQ(service::find_dashboard_dir((dir.path / "bin" / "mlaas4hep").string()),
            (dir.path / "share" / "mlaas4hep" / "dashboard").string());
}

}  // namespace
}  // namespace m4h::test
