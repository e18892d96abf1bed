#!/usr/bin/env bash
# Installs the Debian packages user-export needs. Idempotent: when every package is already
# installed it does nothing (no network). Usage: scripts/install-deps.sh [build|test]
#   build: compilers and libraries to build and run the binary
#   test:  build + the test peers (PostgreSQL server, Node.js for the S3 server, kcat, promtool)
set -euo pipefail

profile=${1:-build}
build_pkgs=(build-essential cmake ninja-build pkg-config git
  libsqlite3-dev libisal-dev libssl-dev libcurl4-openssl-dev libpq-dev librdkafka-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libcpp-httplib-dev libmicrohttpd-dev libhowardhinnant-date-dev tzdata
  googletest libgtest-dev libgmock-dev libbenchmark-dev python3)
# (The build compiles the unit tests and benchmarks too, so their libraries are build deps.)
test_pkgs=(gzip sqlite3 curl time
  postgresql kcat prometheus)

pkgs=("${build_pkgs[@]}")
if [ "$profile" = test ]; then
  pkgs+=("${test_pkgs[@]}")
  # The S3 test server runs on Node.js; a machine that already has node and npm keeps them.
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
