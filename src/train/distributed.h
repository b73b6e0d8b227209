// Data-parallel training across processes: who this process is (rank and world size from the
// launcher's environment), which input files each rank reads, and the collective operations the
// ranks use to stay in step (torch's c10d Gloo process group, behind plain C++ so that no torch
// header reaches the files that include this one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace m4h::train {

// Rank and world size as a launcher sets them.
struct Launch {
  int rank = 0;
  int size = 1;
  std::string launcher = "none";  // "RANK/WORLD_SIZE" (torchrun, by hand), "mpirun", "srun"
};

// Reads, in this order: RANK / WORLD_SIZE (torchrun, or set by hand), OMPI_COMM_WORLD_RANK /
// OMPI_COMM_WORLD_SIZE (OpenMPI's mpirun), SLURM_PROCID / SLURM_STEP_NUM_TASKS or SLURM_NTASKS
// (srun). None of them: rank 0 of 1. `getenv` is std::getenv unless a test passes its own.
// Throws kInvalidArgument for a value that is not a number or a rank outside [0, size).
Launch launch_from_environment(
    const std::function<const char*(const char*)>& getenv = {});

// The files each rank reads, as indices into the file list: within each class, its files go
// round the ranks, so a rank sees every class that has at least `size` files; each class starts
// where the previous one stopped, which keeps the ranks' file counts within one of each other.
// Throws kInvalidArgument when some rank would get no file (more processes than files).
std::vector<std::vector<size_t>> shard_files(const std::vector<int64_t>& labels, int size);

struct RendezvousOptions {
  // "" or "tcp": MASTER_ADDR (default 127.0.0.1) and MASTER_PORT (default 29500), rank 0
  // hosting the store; "file:PATH": a file all ranks can reach (a shared file system).
  std::string method;
  double timeout_seconds = 300;  // for the peers to come
};

// The ranks' collective operations. Every rank must call the same operations in the same order;
// a peer that fails or leaves turns the pending operation into an m4h::Error (kIo).
class Collective {
 public:
  // One process: rank 0 of 1, every operation leaves the data as it is.
  Collective();
  ~Collective();
  Collective(const Collective&) = delete;
  Collective& operator=(const Collective&) = delete;

  // Meets the other ranks (see RendezvousOptions) and makes a Gloo process group. For a world of
  // one, a Collective() without any network. Throws kTimeout (peers did not come; the message
  // names the address and port or the file), kIo (the port is taken, a peer went away).
  static std::unique_ptr<Collective> connect(const Launch& launch, const RendezvousOptions& options);

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Where the ranks met ("127.0.0.1:29500", "file:/path"), empty for one process.
  const std::string& rendezvous() const { return rendezvous_; }

  // Element-wise sums over the ranks, in place.
  void allreduce_sum(std::span<double> values);
  void allreduce_sum(std::span<float> values);
  void allreduce_sum(std::span<int64_t> values);
  // Rank `root`'s bytes everywhere (the sizes must agree).
  void broadcast(std::span<std::byte> bytes, int root = 0);
  // Rank `root`'s string everywhere (any length).
  void broadcast(std::string& text, int root = 0);
  // Every rank's values, in rank order (lengths may differ).
  std::vector<std::vector<float>> allgather(std::span<const float> values);
  void barrier();

 private:
  struct Group;
  std::unique_ptr<Group> group_;  // null for one process
  int rank_ = 0;
  int size_ = 1;
  std::string rendezvous_;
};

}  // namespace m4h::train
