// A local OIDC issuer for tests: RSA and P-256 keys generated here, the discovery document and the
// JWKS served on 127.0.0.1 (keys changeable while it runs), tokens signed here. Used by the OIDC
// unit tests and, through tests/support/test_issuer_main.cc (m4h-test-issuer), by the end-to-end
// and browser tests of the workflow server.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.h"
#include "http/server.h"
#include "service/oidc.h"

namespace m4h::test {

using json = nlohmann::json;

inline std::string b64url(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(a[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 63]);
  return out;
}

inline std::string bn_bytes(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

struct Key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string kid, alg;

  static Key rsa(const std::string& kid) {
    return {std::shared_ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free), kid, "RS256"};
  }
  static Key ec(const std::string& kid) {
    return {std::shared_ptr<EVP_PKEY>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free), kid, "ES256"};
  }
  json jwk() const {
    if (alg == "RS256")
      return {{"kty", "RSA"}, {"kid", kid}, {"use", "sig"}, {"alg", alg},
              {"n", b64url(bn_bytes(pkey.get(), OSSL_PKEY_PARAM_RSA_N))}, {"e", b64url(bn_bytes(pkey.get(), OSSL_PKEY_PARAM_RSA_E))}};
    unsigned char pub[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len);
    const std::string p(reinterpret_cast<char*>(pub), len);  // 04 || x || y
    return {{"kty", "EC"}, {"crv", "P-256"}, {"kid", kid}, {"use", "sig"}, {"alg", alg},
            {"x", b64url(p.substr(1, 32))}, {"y", b64url(p.substr(33, 32))}};
  }
  std::string sign(std::string_view data) const {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, pkey.get());
    EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string sig(len, '\0');
    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    sig.resize(len);
    EVP_MD_CTX_free(md);
    if (alg != "ES256") return sig;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
};

inline int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string token(const Key& k, json claims, json header = json::object()) {
  if (!header.contains("alg")) header["alg"] = k.alg;
  if (!header.contains("kid")) header["kid"] = k.kid;
  header["typ"] = "JWT";
  const std::string signed_part = b64url(header.dump()) + "." + b64url(claims.dump());
  return signed_part + "." + b64url(k.sign(signed_part));
}

// The issuer: discovery document and JWKS on 127.0.0.1, keys changeable while it runs.
struct Issuer {
  Issuer() {
    router.add("GET", "/.well-known/openid-configuration", [this](http::Request&, http::Responder respond) {
      respond(http::Response{200, "application/json", {}, json{{"issuer", url}, {"jwks_uri", url + "/jwks"}}.dump()});
    });
    router.add("GET", "/jwks", [this](http::Request&, http::Responder respond) {
      ++jwks_requests;
      std::lock_guard lock(mutex);
      json keys = json::array();
      for (const auto& k : published) keys.push_back(k.jwk());
      respond(http::Response{200, "application/json", {}, json{{"keys", keys}}.dump()});
    });
    server = std::make_unique<http::Server>(http::ServerOptions{}, router.handler());
    url = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~Issuer() { server->stop(); }
  void publish(std::vector<Key> keys) {
    std::lock_guard lock(mutex);
    published = std::move(keys);
  }
  json claims(const std::string& sub, int64_t exp_in = 300) const {
    return {{"iss", url}, {"aud", "mlaas4hep"}, {"sub", sub}, {"iat", now_s()}, {"exp", now_s() + exp_in}};
  }
  service::OidcOptions options() const {
    service::OidcOptions o;
    o.issuer = url;
    o.audience = "mlaas4hep";
    o.leeway = std::chrono::seconds(30);
    o.min_refresh = std::chrono::seconds(0);
    return o;
  }

  http::Router router;
  std::unique_ptr<http::Server> server;
  std::string url;
  std::mutex mutex;
  std::vector<Key> published;
  std::atomic<int> jwks_requests{0};
};

}  // namespace m4h::test
