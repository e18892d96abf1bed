#!/usr/bin/env bash
# Runs every test against the build in $1. Each test service has a script
# scripts/services/NAME.sh with `start DIR` (starts it, writes `export VAR=…` lines to
# DIR/NAME.env) and `stop DIR`. All services are started before the tests and stopped on exit,
# whatever happens. Integration tests read the exported variables; UE_REQUIRE_SERVICES=1 makes
# a missing variable a test failure instead of a skip.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
cd "$(dirname "$0")/.."

export UE_BUILD_DIR="$build_dir"  # service scripts find test programs (Kafka mock cluster) here
services_dir=$(mktemp -d /tmp/user-export-services.XXXXXX)
chmod 755 "$services_dir"
started=()
cleanup() {
  local rc=$?
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    scripts/services/"${started[i]}".sh stop "$services_dir" || true
  done
  rm -rf "$services_dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for script in scripts/services/*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh)
  echo "== starting test service: $name"
  started+=("$name")
  "$script" start "$services_dir"
  # shellcheck disable=SC1090
  source "$services_dir/$name.env"
done

export UE_REQUIRE_SERVICES=1
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900
