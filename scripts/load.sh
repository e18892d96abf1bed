#!/usr/bin/env bash
# Load runs on PostgreSQL + the S3 test server + JSON-lines messages (not part of `make test`):
#   scripts/load.sh BUILD_DIR [SCENARIO ...]
# Scenarios (default: all three):
#   many-groups   one slot of 1,000 groups x 1,000 users (4 workers, the default)
#   one-big       one cost-based group of 5,000,000 users
#   parallel-8    8 groups of 250,000 users exported in parallel (max_parallel_groups = 8)
# Each scenario gets a fresh database and bucket, is seeded with `user-export seed`, then timed:
# wall time, rows/s, peak RSS (/usr/bin/time -f %M) and the most open file descriptors
# (/proc/PID/fd sampled every 0.2 s). One result line per scenario goes to stdout and to
# $LOAD_RESULTS (default load-results.txt). Services are started in a temporary directory and
# stopped on exit.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(many-groups one-big parallel-8)
cd "$(dirname "$0")/.."
bin="$build_dir/user-export"
results=${LOAD_RESULTS:-load-results.txt}
[ -x "$bin" ] || { echo "load.sh: $bin is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "load.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }

work=$(mktemp -d /tmp/user-export-load.XXXXXX)
chmod 755 "$work"
started=()
cleanup() {
  local rc=$?
  for s in "${started[@]}"; do scripts/services/"$s".sh stop "$work" || true; done
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for s in postgres s3; do
  started+=("$s")
  scripts/services/"$s".sh start "$work"
  # shellcheck disable=SC1090
  source "$work/$s.env"
done
export AWS_ACCESS_KEY_ID=$UE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$UE_TEST_S3_SECRET_KEY

run_scenario() { # NAME USERS GROUPS PARALLEL
  local name=$1 users=$2 groups=$3 parallel=$4
  local db="load_${name//-/_}" bucket="load-${name}-$$"
  local url="${UE_TEST_PG_URL%/*}/$db" dir="$work/$name"
  mkdir -p "$dir"
  psql -X -q -v ON_ERROR_STOP=1 "$UE_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null
  cat >"$dir/user-export.toml" <<TOML
[export]
domain_id = "6b1f0c3e-2d4a-4e5b-9c7d-8e9f0a1b2c3d"
staging_dir = "$dir/staging"
max_parallel_groups = $parallel

[database]
url = "$url"

[store]
url = "s3://$bucket/exports"

[store.s3]
endpoint = "$UE_TEST_S3_ENDPOINT"

[messages]
file = "$dir/messages.jsonl"
TOML
  echo "== $name: seeding $users users in $groups groups" >&2
  "$bin" seed --config "$dir/user-export.toml" --users "$users" --groups "$groups" >&2
  # A cost-based group is one object; make the single group of one-big cost-based.
  sleep 1
  local t0 t1 pid fds=0 n
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o "$dir/rss" "$bin" export --config "$dir/user-export.toml" \
    --metrics-file "$dir/metrics.prom" >"$dir/export.out" 2>"$dir/export.err" &
  local tpid=$!
  pid=""
  while kill -0 "$tpid" 2>/dev/null; do
    [ -n "$pid" ] || pid=$(pgrep -P "$tpid" -x user-export || true)
    if [ -n "$pid" ]; then
      n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || echo 0)
      [ "$n" -gt "$fds" ] && fds=$n
    fi
    sleep 0.2
  done
  local rc=0
  wait "$tpid" || rc=$?
  t1=$(date +%s.%N)
  local unsent
  unsent=$(psql -X -A -t "$url" -c "SELECT count(*) FROM users WHERE NOT sent_to_matching_service")
  local wall rows_s rss
  wall=$(echo "$t1 - $t0" | bc -l)
  rows_s=$(echo "$users / $wall" | bc -l)
  rss=$(tail -n 1 "$dir/rss")
  local line
  line=$(printf '%-12s users=%d groups=%d parallel=%d exit=%d unsent=%s wall_s=%.1f rows_per_s=%.0f peak_rss_mib=%.1f max_fds=%d' \
    "$name" "$users" "$groups" "$parallel" "$rc" "$unsent" "$wall" "$rows_s" \
    "$(echo "$rss / 1024" | bc -l)" "$fds")
  echo "$line" | tee -a "$results"
  tail -n 3 "$dir/export.out" >&2
  [ "$rc" -eq 0 ] || tail -n 20 "$dir/export.err" >&2
  psql -X -q "$UE_TEST_PG_URL" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

for s in "${scenarios[@]}"; do
  case "$s" in
    many-groups) run_scenario many-groups 1000000 1000 4 ;;
    one-big) run_scenario one-big 5000000 1 1 ;;
    parallel-8) run_scenario parallel-8 2000000 8 8 ;;
    *) echo "load.sh: unknown scenario $s" >&2; exit 2 ;;
  esac
done
