// Errors -> HTTP: the one place that maps m4h::ErrorCode to a status, and the {"error": "..."}
// body every route answers with.
#pragma once

#include <exception>
#include <string_view>

#include "core/error.h"
#include "http/server.h"

namespace m4h::http {

int status_for(ErrorCode code);
std::string_view reason_phrase(int status);

// {"error": message} with that status.
Response error_response(int status, std::string_view message);
// The response for an exception: m4h::Error by its code, anything else 500.
Response error_response(std::exception_ptr error);

// Runs fn(); an exception escaping it is answered as error_response(). For handlers that answer
// synchronously or hand the responder on.
template <typename Fn>
void answer_errors(const Responder& respond, Fn&& fn) {
  try {
    fn();
  } catch (...) {
    respond(error_response(std::current_exception()));
  }
}

}  // namespace m4h::http
