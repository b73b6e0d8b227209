#include "http/errors.h"

#include <nlohmann/json.hpp>

namespace m4h::http {

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnsupported: return 400;  // a request asking for what we do not do
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAuth: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kTimeout: return 503;    // retry later, as OIP clients do on 503
    case ErrorCode::kCancelled: return 503;  // shutting down or model unloaded mid-request
    case ErrorCode::kIo:
    case ErrorCode::kCorrupt:  // a bundle on the server, not the request, is broken
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

Response error_response(int status, std::string_view message) {
  Response r;
  r.status = status;
  // dump() with replace: a message quoting the client's bytes may hold invalid UTF-8.
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
  return r;
}

Response error_response(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return error_response(status_for(e.code()), e.what());
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error: ") + e.what());
  } catch (...) {
    return error_response(500, "internal error");
  }
}

}  // namespace m4h::http
