// The workflow server's web dashboard: a few static files (web/dashboard: the page, its script and
// style, and Chart.js from npm) read once at start and served from memory under /dashboard/. The
// page talks to the REST API with the user's bearer token, like any other client.
#pragma once

#include <string>

#include "http/router.h"

namespace m4h::service {

// Serves the dashboard found in `dir` (GET / redirects to /dashboard/). Only the files it names are
// served, whatever a request asks for. Throws m4h::Error kNotFound naming a missing file.
void add_dashboard_routes(http::Router& router, const std::string& dir);

// Where the dashboard's files are for the executable at `exe`: DIR/dashboard beside it (a build
// folder), else PREFIX/share/mlaas4hep/dashboard (an installed one); "" when neither has them.
std::string find_dashboard_dir(const std::string& exe);

}  // namespace m4h::service
