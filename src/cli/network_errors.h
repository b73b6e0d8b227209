// Exit statuses of the commands that talk to a server (client, predict with a URL): a network or
// server failure (m4h::Error kIo, kTimeout) is status 1, bad input stays 2 (main's mapping).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "core/error.h"

namespace m4h::cli {

template <typename Fn>
void with_network_status(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kIo && e.code() != ErrorCode::kTimeout) throw;
    std::cout.flush();
    std::fprintf(stderr, "mlaas4hep: error: %s\n", e.what());
    throw CLI::RuntimeError(1);  // main() returns its code as it is
  }
}

}  // namespace m4h::cli
