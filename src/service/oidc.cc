#include "service/oidc.h"

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>

#include "core/error.h"

namespace m4h::service {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

[[noreturn]] void unauthorized(const std::string& why) { throw Error(ErrorCode::kAuth, "invalid token: " + why); }

// base64url without padding (RFC 7515); "" with ok = false on a bad character.
std::string base64url_decode(std::string_view in, bool& ok) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  ok = true;
  for (char c : in) {
    if (c == '=') break;
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) {
      ok = false;
      return {};
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A public key from a JWK: RSA (n, e) or EC P-256 (x, y). nullptr for other kinds.
std::shared_ptr<EVP_PKEY> key_from_jwk(const json& k) {
  auto field = [&](const char* name) {
    bool ok = false;
    const std::string v = k.contains(name) && k[name].is_string() ? base64url_decode(k[name].get<std::string>(), ok) : "";
    return ok ? v : std::string();
  };
  const std::string kty = k.value("kty", "");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM *n = nullptr, *e = nullptr;
  const char* type = nullptr;
  std::string pub;
  if (kty == "RSA") {
    const std::string nb = field("n"), eb = field("e");
    if (nb.empty() || eb.empty()) return nullptr;
    n = BN_bin2bn(reinterpret_cast<const unsigned char*>(nb.data()), static_cast<int>(nb.size()), nullptr);
    e = BN_bin2bn(reinterpret_cast<const unsigned char*>(eb.data()), static_cast<int>(eb.size()), nullptr);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    type = "RSA";
  } else if (kty == "EC" && k.value("crv", "") == "P-256") {
    const std::string x = field("x"), y = field("y");
    if (x.size() != 32 || y.size() != 32) return nullptr;
    pub = "\x04" + x + y;  // an uncompressed point
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
    type = "EC";
  } else {
    OSSL_PARAM_BLD_free(bld);
    return nullptr;
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  if (!key) return nullptr;
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

// ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::string ecdsa_raw_to_der(const std::string& raw) {
  if (raw.size() != 64) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len)) : std::string();
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

bool verify_signature(EVP_PKEY* key, const std::string& alg, std::string_view signed_part, const std::string& sig) {
  const bool rsa = EVP_PKEY_is_a(key, "RSA") == 1, ec = EVP_PKEY_is_a(key, "EC") == 1;
  if ((alg == "RS256" && !rsa) || (alg == "ES256" && !ec)) return false;  // the key decides, not the header
  const std::string der = alg == "ES256" ? ecdsa_raw_to_der(sig) : sig;
  if (der.empty()) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

size_t on_body(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

json fetch_json(const std::string& url, const OidcOptions& o) {
  CURL* c = curl_easy_init();
  if (!c) throw Error(ErrorCode::kIo, "OIDC: curl_easy_init failed");
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) throw Error(ErrorCode::kIo, "OIDC: GET " + url + ": " + curl_easy_strerror(rc));
  if (status != 200) throw Error(ErrorCode::kIo, "OIDC: GET " + url + ": HTTP " + std::to_string(status));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) throw Error(ErrorCode::kIo, "OIDC: GET " + url + ": not a JSON object");
  return j;
}

bool has_role(const json& claim, const std::string& role) {
  if (role.empty()) return false;
  if (claim.is_string()) {  // "scope": space-separated
    const std::string s = claim.get<std::string>();
    size_t start = 0;
    while (start <= s.size()) {
      const size_t end = std::min(s.find(' ', start), s.size());
      if (s.compare(start, end - start, role) == 0 && end - start == role.size()) return true;
      start = end + 1;
    }
    return false;
  }
  if (claim.is_array())
    for (const auto& v : claim)
      if (v.is_string() && v.get<std::string>() == role) return true;
  return false;
}

}  // namespace

struct OidcVerifier::Impl {
  OidcOptions options;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<EVP_PKEY>> keys;  // by kid ("" for a key without one)
  Clock::time_point fetched{};

  void refresh_locked() {
    std::string base = options.issuer;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const json discovery = fetch_json(base + "/.well-known/openid-configuration", options);
    if (!discovery.contains("jwks_uri") || !discovery["jwks_uri"].is_string())
      throw Error(ErrorCode::kIo, "OIDC: the discovery document of " + options.issuer + " has no jwks_uri");
    const std::string jwks_uri = discovery["jwks_uri"];
    const json jwks = fetch_json(jwks_uri, options);
    if (!jwks.contains("keys") || !jwks["keys"].is_array()) throw Error(ErrorCode::kIo, "OIDC: " + jwks_uri + " has no keys");
    std::map<std::string, std::shared_ptr<EVP_PKEY>> fresh;
    for (const auto& k : jwks["keys"]) {
      if (!k.is_object() || (k.contains("use") && k["use"] != "sig")) continue;
      if (auto key = key_from_jwk(k)) fresh[k.value("kid", "")] = std::move(key);
    }
    keys = std::move(fresh);
    fetched = Clock::now();
  }

  std::shared_ptr<EVP_PKEY> key_for(const std::string& kid) {
    std::lock_guard lock(mutex);
    auto find = [&]() -> std::shared_ptr<EVP_PKEY> {
      if (auto it = keys.find(kid); it != keys.end()) return it->second;
      if (kid.empty() && keys.size() == 1) return keys.begin()->second;
      return nullptr;
    };
    if (auto k = find()) return k;
    // An unknown key id: the issuer may have rotated its keys. Ask again, but not at every token.
    if (Clock::now() - fetched >= options.min_refresh) {
      try {
        refresh_locked();
      } catch (const Error&) {
        fetched = Clock::now();  // the issuer is down: do not hammer it
        throw Error(ErrorCode::kAuth, "invalid token: its key '" + kid + "' is unknown and the issuer's keys cannot be fetched");
      }
      if (auto k = find()) return k;
    }
    unauthorized("unknown key id '" + kid + "'");
  }
};

OidcVerifier::OidcVerifier(OidcOptions options) : impl_(std::make_shared<Impl>()) {
  if (options.issuer.empty()) throw Error(ErrorCode::kInvalidArgument, "OIDC: no issuer");
  if (options.audience.empty()) throw Error(ErrorCode::kInvalidArgument, "OIDC: no audience");
  impl_->options = std::move(options);
}

OidcVerifier::~OidcVerifier() = default;

void OidcVerifier::refresh() {
  std::lock_guard lock(impl_->mutex);
  impl_->refresh_locked();
}

Principal OidcVerifier::verify(std::string_view token) {
  const OidcOptions& o = impl_->options;
  const size_t d1 = token.find('.'), d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    unauthorized("not a JWT (header.payload.signature)");
  bool ok1 = false, ok2 = false, ok3 = false;
  const json header = json::parse(base64url_decode(token.substr(0, d1), ok1), nullptr, false);
  const std::string payload_text = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), ok2);
  const std::string signature = base64url_decode(token.substr(d2 + 1), ok3);
  if (!ok1 || !ok2 || !ok3 || !header.is_object()) unauthorized("not base64url JSON");
  const std::string alg = header.value("alg", "");
  if (alg != "RS256" && alg != "ES256") unauthorized("algorithm '" + alg + "' is not accepted (RS256, ES256)");
  const std::string kid = header.contains("kid") && header["kid"].is_string() ? header["kid"].get<std::string>() : "";
  const auto key = impl_->key_for(kid);
  if (!verify_signature(key.get(), alg, token.substr(0, d2), signature)) unauthorized("bad signature");

  const json claims = json::parse(payload_text, nullptr, false);
  if (!claims.is_object()) unauthorized("the payload is not a JSON object");
  if (!claims.contains("iss") || claims["iss"] != o.issuer) unauthorized("wrong issuer");
  const json aud = claims.value("aud", json());
  const bool aud_ok = (aud.is_string() && aud == o.audience) ||
                      (aud.is_array() && std::find(aud.begin(), aud.end(), json(o.audience)) != aud.end());
  if (!aud_ok) unauthorized("wrong audience");
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  const int64_t leeway = o.leeway.count();
  if (!claims.contains("exp") || !claims["exp"].is_number()) unauthorized("no expiry (exp)");
  if (claims["exp"].get<double>() + static_cast<double>(leeway) <= static_cast<double>(now)) unauthorized("expired");
  if (claims.contains("nbf") && (!claims["nbf"].is_number() ||
                                 claims["nbf"].get<double>() - static_cast<double>(leeway) > static_cast<double>(now)))
    unauthorized("not valid yet (nbf)");
  if (!claims.contains("sub") || !claims["sub"].is_string() || claims["sub"].get<std::string>().empty())
    unauthorized("no subject (sub)");

  Principal p;
  p.subject = claims["sub"];
  const json roles = claims.value(o.roles_claim, json());
  p.admin = has_role(roles, o.admin_role);
  if (!p.admin && !o.user_role.empty() && !has_role(roles, o.user_role))
    throw Error(ErrorCode::kPermissionDenied, "the token of '" + p.subject + "' lacks the role '" + o.user_role + "'");
  return p;
}

Authenticator OidcVerifier::authenticator() {
  return [self = this](const http::Request& req) {
    const std::string_view h = req.header("authorization");
    constexpr std::string_view kBearer = "bearer ";
    if (h.size() <= kBearer.size()) throw Error(ErrorCode::kAuth, "no bearer token (Authorization: Bearer TOKEN)");
    std::string scheme(h.substr(0, kBearer.size()));
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != kBearer) throw Error(ErrorCode::kAuth, "no bearer token (Authorization: Bearer TOKEN)");
    return self->verify(h.substr(kBearer.size()));
  };
}

}  // namespace m4h::service
