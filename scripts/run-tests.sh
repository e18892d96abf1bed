#!/usr/bin/env bash
# Runs every test against the build in $1: unit tests, then the end-to-end tests that need the
# test services. Services started here are stopped on exit, whatever happens.
set -euo pipefail
build_dir=${1:-build}
cd "$(dirname "$0")/.."

cleanup() {
  local rc=$?
  # test services are stopped here (added with each backend)
  exit $rc
}
trap cleanup EXIT INT TERM

ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 600
