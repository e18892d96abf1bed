#!/usr/bin/env bash
# Long crash-anywhere run: starts a throwaway PostgreSQL (scripts/services/postgres.sh), then runs
# tests/e2e/crash_harness.py against the build in $1 for $2 cycles (default 200) within $3
# seconds (default 3600). The harness starts its own S3 server and Kafka mock cluster. Extra
# arguments after the third go to the harness (e.g. --seed 42). The server is stopped on exit.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
cycles=${2:-200}
max_seconds=${3:-3600}
shift $(($# < 3 ? $# : 3))
cd "$(dirname "$0")/.."

services_dir=$(mktemp -d /tmp/user-export-soak.XXXXXX)
chmod 755 "$services_dir"
cleanup() {
  local rc=$?
  scripts/services/postgres.sh stop "$services_dir" || true
  rm -rf "$services_dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/services/postgres.sh start "$services_dir"
# shellcheck disable=SC1091
source "$services_dir/postgres.env"
export UE_REQUIRE_SERVICES=1
python3 tests/e2e/crash_harness.py --build-dir "$build_dir" --cycles "$cycles" \
  --max-seconds "$max_seconds" "$@"
