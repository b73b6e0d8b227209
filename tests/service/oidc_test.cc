// OIDC bearer tokens against a local issuer started by the test: RSA and P-256 keys generated
// here, the discovery document and the JWKS served on 127.0.0.1, tokens signed here. Valid RS256
// and ES256 tokens pass; expired, not-yet-valid, wrong-audience, wrong-issuer, tampered,
// alg "none", HS256 and unknown-key tokens get 401; a key rotated in at the issuer is fetched; a
// role claim makes admins; a missing user role is 403.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "http/router.h"
#include "http/server.h"
#include "service/oidc.h"
#include "support/test_issuer.h"

namespace m4h::test {
namespace {

using json = nlohmann::json;
using service::OidcOptions;
using service::OidcVerifier;

// The code of the error verify() throws, with its message; kInternal when it returns.
std::pair<ErrorCode, std::string> rejection(OidcVerifier& v, const std::string& t) {
  try {
    v.verify(t);
    return {ErrorCode::kInternal, "accepted"};
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
}

TEST(Oidc, ValidRs256AndEs256Tokens) {
  Issuer iss;
  const Key rsa = Key::rsa("r1"), ec = Key::ec("e1");
  iss.publish({rsa, ec});
  OidcVerifier v(iss.options());
  v.refresh();
  auto p = v.verify(token(rsa, iss.claims("alice")));
  EXPECT_EQ(p.subject, "alice");
  EXPECT_FALSE(p.admin);
  EXPECT_EQ(v.verify(token(ec, iss.claims("bob"))).subject, "bob");
  json aud_list = iss.claims("carol");
  aud_list["aud"] = {"other", "mlaas4hep"};
  EXPECT_EQ(v.verify(token(rsa, aud_list)).subject, "carol");
  // Within the leeway: expired 10 s ago, valid from 10 s ahead.
  json skewed = iss.claims("dave", -10);
  skewed["nbf"] = now_s() + 10;
  EXPECT_EQ(v.verify(token(ec, skewed)).subject, "dave");
}

TEST(Oidc, BadTokensAre401) {
  Issuer iss;
  const Key rsa = Key::rsa("r1"), ec = Key::ec("e1"), stranger = Key::rsa("r1");  // same kid, other key
  iss.publish({rsa, ec});
  OidcVerifier v(iss.options());
  auto expect_401 = [&](const std::string& t, const std::string& why) {
    auto [code, message] = rejection(v, t);
    EXPECT_EQ(code, ErrorCode::kAuth) << why << ": " << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  };
  expect_401(token(rsa, iss.claims("alice", -120)), "expired");
  json early = iss.claims("alice");
  early["nbf"] = now_s() + 600;
  expect_401(token(rsa, early), "not valid yet");
  json aud = iss.claims("alice");
  aud["aud"] = "another-service";
  expect_401(token(rsa, aud), "wrong audience");
  json wrong_iss = iss.claims("alice");
  wrong_iss["iss"] = "https://evil.example";
  expect_401(token(rsa, wrong_iss), "wrong issuer");
  json no_exp = iss.claims("alice");
  no_exp.erase("exp");
  expect_401(token(rsa, no_exp), "no expiry");
  // Tampered: alice's signature on bob's claims.
  const std::string good = token(ec, iss.claims("alice"));
  const size_t d1 = good.find('.'), d2 = good.rfind('.');
  expect_401(good.substr(0, d1 + 1) + b64url(iss.claims("bob").dump()) + good.substr(d2), "bad signature");
  expect_401(token(stranger, iss.claims("alice")), "bad signature");
  // alg "none" with no signature, and HS256 keyed with the public key (algorithm confusion).
  const std::string none_part = b64url(json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." + b64url(iss.claims("alice").dump());
  expect_401(none_part + ".", "algorithm 'none'");
  const std::string hs_part = b64url(json{{"alg", "HS256"}, {"kid", "r1"}}.dump()) + "." + b64url(iss.claims("alice").dump());
  unsigned char mac[32];
  size_t len = 0;
  const std::string secret = rsa.jwk()["n"];
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(hs_part.data()), hs_part.size(), mac, sizeof mac, &len);
  expect_401(hs_part + "." + b64url(std::string(reinterpret_cast<char*>(mac), len)), "algorithm 'HS256'");
  // An ES256 header on an RSA key's kid.
  expect_401(token(rsa, iss.claims("alice"), {{"alg", "ES256"}}), "bad signature");
  expect_401(token(Key::ec("nobody"), iss.claims("alice")), "unknown key id 'nobody'");
  expect_401("not.a-jwt", "not a JWT");
  expect_401("a.b.c", "not base64url JSON");
  expect_401("", "not a JWT");
}

TEST(Oidc, RotatedKeysAreFetchedRolesMapAndHeadersAreRead) {
  Issuer iss;
  const Key old_key = Key::rsa("2025"), new_key = Key::ec("2026");
  iss.publish({old_key});
  OidcOptions o = iss.options();
  o.roles_claim = "groups";
  o.admin_role = "cms-ml-admins";
  o.user_role = "cms";
  OidcVerifier v(o);
  json c = iss.claims("alice");
  c["groups"] = {"cms"};
  EXPECT_EQ(v.verify(token(old_key, c)).subject, "alice");
  const int before = iss.jwks_requests;
  iss.publish({old_key, new_key});  // the issuer rotates
  EXPECT_EQ(v.verify(token(new_key, c)).subject, "alice");
  EXPECT_EQ(iss.jwks_requests, before + 1);
  c["groups"] = {"cms", "cms-ml-admins"};
  EXPECT_TRUE(v.verify(token(new_key, c)).admin);
  c["groups"] = {"atlas"};
  EXPECT_EQ(rejection(v, token(new_key, c)).first, ErrorCode::kPermissionDenied);
  c.erase("groups");
  c["scope"] = "openid cms";
  o.roles_claim = "scope";
  OidcVerifier scopes(o);
  EXPECT_EQ(scopes.verify(token(new_key, c)).subject, "alice");

  // From requests: "Authorization: Bearer TOKEN" (scheme case-insensitive).
  auto auth = scopes.authenticator();
  http::Request req;
  req.headers = {{"authorization", "bearer " + token(new_key, c)}};
  EXPECT_EQ(auth(req).subject, "alice");
  req.headers = {{"authorization", "Basic YWxpY2U6c2VjcmV0"}};
  EXPECT_THROW(auth(req), Error);
  req.headers = {};
  EXPECT_THROW(auth(req), Error);
}

TEST(Oidc, AnUnreachableIssuerIsAClearError) {
  OidcOptions o;
  o.issuer = "http://127.0.0.1:1";
  o.audience = "x";
  o.timeout_s = 2;
  OidcVerifier v(o);
  try {
    v.refresh();
    FAIL() << "refresh() reached a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1/.well-known/openid-configuration"), std::string::npos) << e.what();
  }
  EXPECT_THROW(OidcVerifier(OidcOptions{}), Error);
}

}  // namespace
}  // namespace m4h::test
