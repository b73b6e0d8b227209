#!/usr/bin/env bash
# Builds and runs tools/cuda_check against a CUDA libtorch (a PyTorch install's, found through
# its Python: PYTHON=/path/to/python, default python3), with the trainer's sources compiled in.
# Needs g++ and the nlohmann-json header (NLOHMANN_INCLUDE, default /usr/include). Output and the
# binary go to ${OUT:-build-cuda}.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=${PYTHON:-python3}
out=${OUT:-build-cuda}
mkdir -p "$out"
torch_dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
abi=$("$py" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
json=${NLOHMANN_INCLUDE:-/usr/include}
echo "torch: $torch_dir (cxx11 abi $abi), nlohmann: $json"
g++ -std=c++20 -O1 -D_GLIBCXX_USE_CXX11_ABI="$abi" -I src -I "$json" \
  -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include" \
  tools/cuda_check/cuda_check.cc src/train/torch_trainer.cc src/train/metrics.cc src/core/error.cc \
  -L "$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu \
  -lc10_cuda -lc10 -Wl,--as-needed -lpthread -o "$out/cuda_check"
cd "$out" && ./cuda_check
