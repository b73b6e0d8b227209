// Routes (method, path pattern) to handlers. Patterns are literal segments and {name} segments
// that match one non-empty segment into Request::params: "/v2/models/{name}/versions/{version}".
// Unknown path -> 404, known path with another method -> 405. Handlers' exceptions become
// error responses (http/errors.h). Add routes before serving; dispatch() is then thread-safe.
#pragma once

#include <string>
#include <vector>

#include "http/server.h"

namespace m4h::http {

class Router {
 public:
  void add(std::string method, std::string_view pattern, Handler handler);
  void dispatch(Request& request, Responder respond) const;
  // A Handler that dispatches through this router (which must outlive the server).
  Handler handler() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" = a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace m4h::http
