// Collective (distributed.h) on torch's c10d: a TCPStore or FileStore for the rendezvous and a
// ProcessGroupGloo for the operations. The only translation unit that includes c10d headers
// (compiled with -DUSE_C10D_GLOO, which the Gloo header needs to declare anything).
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <ATen/ATen.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "train/distributed.h"

namespace m4h::train {

namespace {

// Long enough for rank 0's first pass over every file (the specs) while the others wait.
constexpr std::chrono::minutes kOperationTimeout{30};

std::string first_line(const std::string& what) {
  const auto nl = what.find('\n');
  return nl == std::string::npos ? what : what.substr(0, nl);
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

struct Collective::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;

  // Runs one operation to completion; a peer that failed or left is a clear error, not a hang.
  template <typename Start>
  void run(const char* what, Start&& start) {
    try {
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait();
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kIo, std::string("distributed: ") + what +
                                      " failed (another rank stopped or cannot be reached): " +
                                      first_line(e.what()));
    }
  }

  void allreduce(at::Tensor t) {
    std::vector<at::Tensor> v{std::move(t)};
    run("all-reduce", [&] { return gloo->allreduce(v); });
  }
};

Collective::Collective() = default;
Collective::~Collective() = default;

std::unique_ptr<Collective> Collective::connect(const Launch& launch, const RendezvousOptions& o) {
  auto c = std::make_unique<Collective>();
  if (launch.size <= 1) return c;
  c->rank_ = launch.rank;
  c->size_ = launch.size;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000));
  const std::string who = "rank " + std::to_string(launch.rank) + " of " + std::to_string(launch.size) +
                          " from " + launch.launcher;
  auto group = std::make_unique<Group>();
  std::string host = "127.0.0.1";
  if (o.method.rfind("file:", 0) == 0) {
    const std::string path = o.method.substr(5);
    if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "--rendezvous file:PATH needs a path");
    c->rendezvous_ = o.method;
    try {
      group->store = c10::make_intrusive<c10d::FileStore>(path, launch.size);
      group->store->setTimeout(timeout);
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kIo, "distributed: rendezvous file " + path + ": " + first_line(e.what()));
    }
  } else if (o.method.empty() || o.method == "tcp") {
    host = env_or("MASTER_ADDR", "127.0.0.1");
    const std::string port_text = env_or("MASTER_PORT", "29500");
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
      throw Error(ErrorCode::kInvalidArgument, "environment: MASTER_PORT=\"" + port_text + "\" is not a port");
    c->rendezvous_ = host + ":" + port_text;
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    so.isServer = launch.rank == 0;
    so.numWorkers = static_cast<std::size_t>(launch.size);
    so.waitWorkers = true;
    so.timeout = timeout;
    try {
      group->store = c10::make_intrusive<c10d::TCPStore>(host, so);
    } catch (const std::exception& e) {
      const std::string why = first_line(e.what());
      const bool late = why.find("imed out") != std::string::npos || why.find("imeout") != std::string::npos;
      throw Error(late ? ErrorCode::kTimeout : ErrorCode::kIo,
                  "distributed: rendezvous at " + c->rendezvous_ + " (" + who + ", " +
                      (launch.rank == 0 ? "hosting the store" : "connecting to rank 0") + "): " +
                      (late ? "the other ranks did not all come within " +
                                  std::to_string(static_cast<int64_t>(o.timeout_seconds)) + " s: "
                            : std::string()) +
                      why);
    }
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "--rendezvous \"" + o.method + "\": use tcp (MASTER_ADDR, MASTER_PORT) or file:PATH");
  }

  // Every rank checks in; the last one to come says so. (The TCPStore server does not wait for
  // its workers here, and Gloo would wait for absent peers as long as for any operation.)
  try {
    if (group->store->add("m4h/ranks_here", 1) == launch.size) group->store->set("m4h/all_here", {1});
    group->store->wait({"m4h/all_here"}, timeout);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kTimeout,
                "distributed: rendezvous at " + c->rendezvous_ + " (" + who + "): the other ranks did not all come within " +
                    std::to_string(static_cast<int64_t>(o.timeout_seconds)) + " s: " + first_line(e.what()));
  }

  auto options = c10d::ProcessGroupGloo::Options::create(kOperationTimeout);
  try {
    // The address peers connect to: the interface GLOO_SOCKET_IFNAME names, loopback when every
    // rank is on this machine, else the address this host's name resolves to.
    const std::string ifname = env_or("GLOO_SOCKET_IFNAME", "");
    if (!ifname.empty()) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (is_loopback(host)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 1;
    group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, launch.rank, launch.size, options);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kIo, "distributed: " + who + ": cannot connect to the other ranks (met at " +
                                    c->rendezvous_ + "): " + first_line(e.what()));
  }
  c->group_ = std::move(group);
  return c;
}

void Collective::allreduce_sum(std::span<double> v) {
  if (!group_ || v.empty()) return;
  group_->allreduce(at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kDouble));
}

void Collective::allreduce_sum(std::span<float> v) {
  if (!group_ || v.empty()) return;
  group_->allreduce(at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kFloat));
}

void Collective::allreduce_sum(std::span<int64_t> v) {
  if (!group_ || v.empty()) return;
  group_->allreduce(at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kLong));
}

void Collective::broadcast(std::span<std::byte> bytes, int root) {
  if (!group_ || bytes.empty()) return;
  std::vector<at::Tensor> v{at::from_blob(bytes.data(), {static_cast<int64_t>(bytes.size())}, at::kByte)};
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  group_->run("broadcast", [&] { return group_->gloo->broadcast(v, bo); });
}

void Collective::broadcast(std::string& text, int root) {
  if (!group_) return;
  int64_t n = static_cast<int64_t>(text.size());
  broadcast(std::as_writable_bytes(std::span<int64_t>(&n, 1)), root);
  text.resize(static_cast<size_t>(n));
  broadcast(std::as_writable_bytes(std::span<char>(text.data(), text.size())), root);
}

std::vector<std::vector<float>> Collective::allgather(std::span<const float> values) {
  if (!group_) return {std::vector<float>(values.begin(), values.end())};
  // Gloo gathers equal sizes: every rank's length first, then each rank's values padded to the longest.
  std::vector<int64_t> lengths(static_cast<size_t>(size_), 0);
  lengths[rank_] = static_cast<int64_t>(values.size());
  allreduce_sum(std::span<int64_t>(lengths));
  const int64_t longest = std::max<int64_t>(1, *std::max_element(lengths.begin(), lengths.end()));
  at::Tensor mine = at::zeros({longest}, at::kFloat);
  if (!values.empty()) std::memcpy(mine.data_ptr<float>(), values.data(), values.size() * sizeof(float));
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < size_; ++r) out[0].push_back(at::empty({longest}, at::kFloat));
  std::vector<at::Tensor> in{mine};
  group_->run("all-gather", [&] { return group_->gloo->allgather(out, in); });
  std::vector<std::vector<float>> all(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    const float* p = out[0][r].data_ptr<float>();
    all[r].assign(p, p + lengths[r]);
  }
  return all;
}

void Collective::barrier() {
  if (!group_) return;
  group_->run("barrier", [&] { return group_->gloo->barrier(); });
}

}  // namespace m4h::train
