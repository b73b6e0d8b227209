#include "http/multipart.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace m4h::http {
namespace {

TEST(Multipart, Boundary) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a;b c\""), "a;b c");
  EXPECT_EQ(multipart_boundary("application/gzip"), "");
}

TEST(Multipart, Parts) {
  const std::string body =
      "preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nmodel1\r\n"
      "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.tar.gz\"\r\n"
      "Content-Type: application/gzip\r\n\r\n\x1f\x8b\r\n--X\r\n--XX--\r\n";
  auto parts = parse_multipart(body, "XX");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "name");
  EXPECT_EQ(parts[0].data, "model1");
  EXPECT_EQ(parts[1].filename, "b.tar.gz");
  EXPECT_EQ(parts[1].content_type, "application/gzip");
  EXPECT_EQ(parts[1].data, "\x1f\x8b\r\n--X");
}

TEST(Multipart, TruncatedOrMalformedBodiesAreErrors) {
  EXPECT_THROW(parse_multipart("--XX\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", "XX"), Error);
  EXPECT_THROW(parse_multipart("no boundary here", "XX"), Error);
  EXPECT_THROW(parse_multipart("--XX\r\nbad header\r\n\r\nx\r\n--XX--", "XX"), Error);
  EXPECT_THROW(parse_multipart("--XX", ""), Error);
}

}  // namespace
}  // namespace m4h::http
