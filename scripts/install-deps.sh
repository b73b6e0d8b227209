#!/usr/bin/env bash
# Installs every Debian package mlaas4hep needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent: packages already present are skipped quickly by apt. Run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer and sanitizers
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev libdeflate-dev liblz4-dev libzstd-dev liblzma-dev libxxhash-dev
  libcli11-dev nlohmann-json3-dev
  libxrootd-client-dev libcurl4-openssl-dev   # remote sources: XRootD (XrdCl) and HTTP(S) (libcurl)
  xrootd-server xrootd-client curl iproute2   # real XRootD/HTTP servers in tests/remote and bench/remote_bench.sh
  libtorch-dev libopenblas0-pthread           # training (libtorch 1.13; without OpenBLAS it runs on reference BLAS)
  libxgboost-dev libgloo-dev                  # gradient-boosted trees; Gloo headers for distributed training
  openmpi-bin                                 # mpirun launches distributed training ranks (tests, README)
  python3-torch                               # tests: a TorchScript model scripted in Python (Debian's python3.11)
  gnuplot-nox                                 # training plots (loss, ROC, scores) as SVG and PNG
  libboost-dev libboost-system-dev libssl-dev # the HTTP server (Boost.Beast/Asio, optional TLS)
  libprotobuf-dev protobuf-compiler           # the TFaaS protobuf API (Row -> Predictions)
  wrk hey nginx-light                         # bench/serve: load generators and the nginx ceiling
  libsqlite3-dev                              # the workflow server's job store
  slurm-wlm munge                             # the Slurm executor; tests start a one-node cluster (scripts/slurm-cluster.sh)
  chromium chromium-driver                    # the dashboard's browser test (headless, driven over WebDriver)
)
# Node.js and npm run the jsroot oracle. A machine may already have them from another source
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm package): only add what is missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# jsroot: the independent reader used as an oracle in tests and as a baseline in bench/.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$here/tools/oracle/node_modules/jsroot" ]; then
  (cd "$here/tools/oracle" && npm ci --no-audit --no-fund --loglevel=error)
fi
# Chart.js: the charts of the workflow server's dashboard (web/dashboard).
if [ ! -f "$here/web/dashboard/node_modules/chart.js/dist/chart.umd.min.js" ]; then
  (cd "$here/web/dashboard" && npm ci --no-audit --no-fund --loglevel=error)
fi
