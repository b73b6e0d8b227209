// m4h-test-issuer: the tests' local OIDC issuer as a program, for the shell and browser tests of
// the workflow server. Serves the discovery document and JWKS on 127.0.0.1, writes one signed token
// per user, prints its URL, and serves until SIGTERM/SIGINT.
//
//   m4h-test-issuer --tokens DIR [--user NAME[:GROUP,...]]... [--audience AUD] [--lifetime SECONDS]
//
// Each user gets DIR/NAME.token (RS256, aud AUD, sub NAME, groups GROUP...); DIR/issuer.url holds
// the URL, written last (a caller waits for it).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_issuer.h"

int main(int argc, char** argv) {
  using namespace m4h::test;
  std::string dir, audience = "mlaas4hep";
  int64_t lifetime = 3600;
  std::vector<std::string> users;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--tokens") dir = v;
    else if (k == "--user") users.push_back(v);
    else if (k == "--audience") audience = v;
    else if (k == "--lifetime") lifetime = std::stoll(v);
    else {
      std::fprintf(stderr, "m4h-test-issuer: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: m4h-test-issuer --tokens DIR [--user NAME[:GROUP,...]]... [--audience AUD] [--lifetime S]\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the server's threads start: they inherit it

  Issuer issuer;
  const Key key = Key::rsa("test-key-1");
  issuer.publish({key});
  std::filesystem::create_directories(dir);
  for (const std::string& u : users) {
    const size_t colon = u.find(':');
    const std::string name = u.substr(0, colon);
    json claims = issuer.claims(name, lifetime);
    claims["aud"] = audience;
    claims["preferred_username"] = name;
    json groups = json::array();
    if (colon != std::string::npos) {
      std::string g;
      for (std::istringstream in(u.substr(colon + 1)); std::getline(in, g, ',');) groups.push_back(g);
    }
    claims["groups"] = groups;
    std::ofstream(std::filesystem::path(dir) / (name + ".token")) << token(key, claims);
  }
  std::ofstream(std::filesystem::path(dir) / "issuer.url.tmp") << issuer.url << "\n";
  std::filesystem::rename(std::filesystem::path(dir) / "issuer.url.tmp", std::filesystem::path(dir) / "issuer.url");
  std::printf("m4h-test-issuer: %s\n", issuer.url.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}
