// multipart/form-data bodies (RFC 7578) -> parts, as a pure function (no copies of the data:
// the parts view the body).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace m4h::http {

struct FormPart {
  std::string name;      // Content-Disposition name=
  std::string filename;  // filename=, empty for a plain field
  std::string content_type;
  std::string_view data;  // into the body
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type, "" when there is none.
std::string multipart_boundary(std::string_view content_type);
// Throws m4h::Error kInvalidArgument for a body that is not well-formed with that boundary.
std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace m4h::http
