#!/usr/bin/env bash
# Builds and runs tools/cuda_check against a CUDA libtorch (a PyTorch install's, found through
# its Python: PYTHON=/path/to/python, default python3), with the trainer's sources compiled in.
# Needs g++ and the nlohmann-json header (NLOHMANN_INCLUDE, default /usr/include). Output and the
# binary go to ${OUT:-build-cuda}. The sources compile in parallel (JOBS, default all cores).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py=${PYTHON:-python3}
out=${OUT:-build-cuda}
mkdir -p "$out/obj"
torch_dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
abi=$("$py" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
json=${NLOHMANN_INCLUDE:-/usr/include}
echo "torch: $torch_dir (cxx11 abi $abi), nlohmann: $json"
flags=(-std=c++20 -O1 -D_GLIBCXX_USE_CXX11_ABI="$abi" -DUSE_C10D_GLOO -I src -I "$json"
       -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include")
sources=(tools/cuda_check/cuda_check.cc src/train/torch_trainer.cc src/train/metrics.cc
         src/train/distributed.cc src/core/error.cc src/core/blas_threads.cc)
compile() { g++ "${flags[@]}" -c "$1" -o "$out/obj/$(basename "$1" .cc).o" 2> "$out/obj/$(basename "$1" .cc).log"; }
pids=()
for s in "${sources[@]}"; do compile "$s" & pids+=($!); done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    if [[ ${sources[$i]} == src/train/distributed.cc ]]; then
      # The c10d headers of this PyTorch differ from Debian's 1.13: train in one process without them.
      echo "distributed.cc does not compile here (first lines below); using the one-process Collective"
      grep -m 3 error "$out/obj/distributed.log" || true
      compile tools/cuda_check/collective_one_process.cc
      mv "$out/obj/collective_one_process.o" "$out/obj/distributed.o"
    else
      cat "$out/obj/$(basename "${sources[$i]}" .cc).log"; failed=1
    fi
  fi
done
[[ $failed == 0 ]] || exit 1
g++ "$out"/obj/*.o -L "$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed -ltorch -ltorch_cuda \
  -ltorch_cpu -lc10_cuda -lc10 -Wl,--as-needed -lpthread -ldl -o "$out/cuda_check"
cd "$out" && ./cuda_check
