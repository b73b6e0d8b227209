// OAuth2/OIDC bearer tokens verified by the server itself: JWTs signed with RS256 or ES256 by
// keys from the issuer's JWKS (found through ISSUER/.well-known/openid-configuration, cached, and
// fetched again when a token names a key id the cache lacks, at most every min_refresh). Checks the
// signature, iss, aud, exp and nbf (with a small leeway), and maps a claim holding groups, roles or
// scopes onto our two roles: admins see every job, users their own. OpenSSL 3 and libcurl are
// seen by oidc.cc alone.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "service/api.h"

namespace m4h::service {

struct OidcOptions {
  std::string issuer;    // the token's iss must equal it; its discovery document lives under it
  std::string audience;  // must be the token's aud, or one of them
  std::string roles_claim = "groups";  // a list of strings, or one space-separated string (scope)
  std::string admin_role = "mlaas4hep-admin";
  std::string user_role;               // when set, tokens without it (and not admin) get 403
  std::chrono::seconds leeway{60};     // clock skew allowed on exp and nbf
  std::chrono::seconds min_refresh{10};
  std::string ca_file;                 // CA bundle for an https issuer ("": the system's)
  double timeout_s = 10;               // discovery and JWKS requests
};

class OidcVerifier {
 public:
  explicit OidcVerifier(OidcOptions options);
  ~OidcVerifier();
  OidcVerifier(const OidcVerifier&) = delete;
  OidcVerifier& operator=(const OidcVerifier&) = delete;

  // Fetches the discovery document and the JWKS now (the server calls it at start to fail fast).
  // Throws m4h::Error kIo naming the URL.
  void refresh();
  // The principal of a token. Throws kAuth (401: malformed, bad signature, unknown key, wrong
  // iss/aud, expired, not yet valid, unsupported alg such as "none" or HS256) or
  // kPermissionDenied (403: a valid token without the user role). Thread-safe.
  Principal verify(std::string_view token);
  // verify() on a request's "Authorization: Bearer TOKEN" (kAuth when there is none).
  Authenticator authenticator();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace m4h::service
