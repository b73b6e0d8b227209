// The world-of-one Collective, for tools/cuda_check/run.sh when src/train/distributed.cc does not
// compile against the PyTorch install at hand (its c10d/Gloo headers move between releases, and a
// wheel may ship without Gloo's). cuda_check trains in one process, where every collective
// operation leaves the data as it is: the same behaviour as distributed.cc without a group.
#include "core/error.h"
#include "train/distributed.h"

namespace m4h::train {

struct Collective::Group {};

Collective::Collective() = default;
Collective::~Collective() = default;

std::unique_ptr<Collective> Collective::connect(const Launch&, const RendezvousOptions&) {
  throw Error(ErrorCode::kUnsupported, "cuda_check is built without Gloo: one process only");
}

void Collective::allreduce_sum(std::span<double>) {}
void Collective::allreduce_sum(std::span<float>) {}
void Collective::allreduce_sum(std::span<int64_t>) {}
void Collective::broadcast(std::span<std::byte>, int) {}
void Collective::broadcast(std::string&, int) {}
std::vector<std::vector<float>> Collective::allgather(std::span<const float> values) {
  return {std::vector<float>(values.begin(), values.end())};
}
void Collective::barrier() {}

}  // namespace m4h::train
