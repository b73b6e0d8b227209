// One error type for the whole project: a code (mapped to CLI exit statuses and HTTP statuses)
// plus a chain of context strings ("file.root", "branch Jet_pt", "basket 3 at offset 1234").
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace m4h {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kIo,
  kTimeout,
  kCorrupt,
  kUnsupported,
  kAuth,              // who you are is unknown (HTTP 401)
  kPermissionDenied,  // known, but not allowed (403)
  kConflict,          // not in a state that allows it: a running job deleted, say (409)
  kTooLarge,          // an upload or body over its limit (413)
  kResourceExhausted, // a queue or quota is full: retry later (429)
  kCancelled,
  kInternal,
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message);

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // Outermost context first.
  const std::vector<std::string>& context() const noexcept { return context_; }

  // Prepends a context item (the caller's view: file, object, branch). Returns *this to rethrow.
  Error& add_context(std::string item);

  // "ctx1: ctx2: message"
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  void rebuild();

  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
  std::string what_;
};

// `text` as it may be quoted in a message: control bytes (NUL, newline, escape...) are written
// as \xNN, so that what() is never cut short at a NUL nor split over lines by user input.
std::string printable(std::string_view text);

// Runs fn(); an Error escaping it gets `item` prepended to its context and is rethrown.
template <typename Fn>
decltype(auto) with_context(std::string_view item, Fn&& fn) {
  try {
    return fn();
  } catch (Error& e) {
    e.add_context(std::string(item));
    throw;
  }
}

}  // namespace m4h
