#include "http/router.h"

#include "http/errors.h"

namespace m4h::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

void Router::add(std::string method, std::string_view pattern, Handler handler) {
  Route r{std::move(method), {}, std::move(handler)};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::dispatch(Request& request, Responder respond) const {
  const auto parts = split_path(request.path);
  bool path_known = false;
  std::string allow;
  for (const Route& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    bool match = true;
    for (size_t i = 0; i < parts.size() && match; ++i) {
      match = is_param(r.segments[i]) || r.segments[i] == parts[i];
    }
    if (!match) continue;
    path_known = true;
    if (r.method != request.method) {
      if (!allow.empty()) allow += ", ";
      allow += r.method;
      continue;
    }
    request.params.clear();
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& s = r.segments[i];
      if (is_param(s)) request.params[s.substr(1, s.size() - 2)] = std::string(parts[i]);
    }
    answer_errors(respond, [&] { r.handler(request, respond); });
    return;
  }
  if (!path_known) {
    respond(error_response(404, "no route for " + request.method + " " + request.path));
    return;
  }
  Response res = error_response(405, request.method + " not allowed on " + request.path);
  res.headers.emplace_back("Allow", allow);
  respond(std::move(res));
}

Handler Router::handler() const {
  return [this](Request& request, Responder respond) { dispatch(request, std::move(respond)); };
}

}  // namespace m4h::http
