#!/usr/bin/env bash
# One cost-based group exported to a directory (file:// store) and to the S3 test server in the
# same run (issue 15): the whole `user-export export --group ID` process each time, on a fresh
# copy of the same seeded database, the contenders taking turns at going first. A third
# contender sends the same requests to bench/s3_sink.py, an S3 endpoint that keeps nothing, to
# show the exporter's own S3 cost apart from the test server's work on the same cores. Beside
# them, the curl CLI uploading the exported file to the test server (one PUT). Run by
# scripts/bench.sh (`make bench`); see BENCHMARKS.md.
# Usage: scripts/bench-s3-export.sh [BUILD_DIR]   (default: build)
# Environment: BENCH_S3_ROUNDS (default 5; each round exports the group once to each store),
# BENCH_S3_USERS (default 2000000 users in the group).
# The S3 store uses its defaults (16 MiB multipart threshold, 8 MiB parts, 2 in parallel).
# Every export is checked: all users marked, one message, and the object (file or S3, read
# back with curl) has the message's size and SHA-256. Exits 0 unless a step failed; a missed
# target is printed as MISS.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
rounds=${BENCH_S3_ROUNDS:-5}
users=${BENCH_S3_USERS:-2000000}
cd "$(dirname "$0")/.."

cmake --build "$build_dir" --target user-export >/dev/null
ue="$build_dir/user-export"
work=$(mktemp -d /tmp/user-export-bench-s3-export.XXXXXX)
chmod 755 "$work" # the server runs as the postgres OS user when started as root
sink_pid=""
cleanup() {
  [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
  scripts/services/s3.sh stop "$work" 2>/dev/null || true
  scripts/services/postgres.sh stop "$work" || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/services/postgres.sh start "$work"
scripts/services/s3.sh start "$work" 2>/dev/null
python3 bench/s3_sink.py "$work/sink.port" &
sink_pid=$!
for _ in $(seq 1 100); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
sink_endpoint="http://127.0.0.1:$(cat "$work/sink.port")"
# shellcheck disable=SC1091
source "$work/postgres.env"
# shellcheck disable=SC1091
source "$work/s3.env"
export AWS_ACCESS_KEY_ID=$UE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$UE_TEST_S3_SECRET_KEY
sign=(--aws-sigv4 aws:amz:us-east-1:s3 -u "$UE_TEST_S3_ACCESS_KEY:$UE_TEST_S3_SECRET_KEY"
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
server=${UE_TEST_PG_URL%/*}
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
domain=6d1f6f8e-2c1b-4d5a-9a57-1c3c5a0b9e01
bucket="ue-bench-export"

config() { # NAME DB STORE-LINES: a configuration of its own; prints its path
  local file="$work/$1.toml"
  cat >"$file" <<TOML
[export]
domain_id = "$domain"
staging_dir = "$work/staging-$1"
[database]
url = "$server/$2"
[store]
$3
[messages]
file = "$work/messages-$1.jsonl"
TOML
  echo "$file"
}

admin -c "CREATE DATABASE tpl_s3"
started=$(now)
"$ue" seed --config "$(config seed tpl_s3 "url = \"file://$work/objects-seed\"")" --users "$users" \
  --groups 1 >/dev/null 2>"$work/seed.log" || { cat "$work/seed.log" >&2; exit 1; }
echo "seeded $users users in one group in $(since "$started") s"
value tpl_s3 "VACUUM (FREEZE, ANALYZE) users, profiles, matching_groups" >/dev/null
group=$(value tpl_s3 "SELECT id FROM matching_groups")
curl -sS --fail "${sign[@]}" -X PUT "$UE_TEST_S3_ENDPOINT/$bucket" >/dev/null

declare -A t
# run_export KEY STORE-LINES: one timed export of the group on a fresh copy, then its checks.
run_export() {
  local key=$1 cfg s marked message sha bytes got
  admin -c "DROP DATABASE IF EXISTS run_$key" -c "CREATE DATABASE run_$key TEMPLATE tpl_s3 STRATEGY FILE_COPY"
  rm -rf "$work/objects-$key" "$work/messages-$key.jsonl"
  cfg=$(config "$key" "run_$key" "$2")
  s=$(now)
  "$ue" export --config "$cfg" --group "$group" >"$work/export-$key.log" 2>&1 || {
    tail -n 20 "$work/export-$key.log" >&2
    exit 1
  }
  t[$key]+="$(since "$s") "
  # From the log: export start to the object confirmed (claim, stream, upload), the part that
  # depends on the store; the commit that follows marks the users whatever the store.
  t[${key}_upload]+="$(awk '/ info export started / { a = $1 } / info staged and uploaded / { b = $1 }
    END { split(substr(a, 12, 12), x, ":"); split(substr(b, 12, 12), y, ":")
          printf "%.3f", (y[1] - x[1]) * 3600 + (y[2] - x[2]) * 60 + (y[3] - x[3]) }' \
    "$work/export-$key.log") "
  marked=$(value "run_$key" "SELECT count(*) FROM users WHERE sent_to_matching_service")
  if [ "$marked" != "$users" ] || [ "$(wc -l <"$work/messages-$key.jsonl")" != 1 ]; then
    echo "bench-s3-export.sh: the $key export marked $marked of $users users" >&2
    exit 1
  fi
  message=$(head -n 1 "$work/messages-$key.jsonl")
  sha=$(sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' <<<"$message")
  bytes=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' <<<"$message")
  object=$(sed -n 's/.*"objectKey":"\([^"]*\)".*/\1/p' <<<"$message")
  if [ "$key" = sink ]; then # it kept the size only
    if ! curl -sS --fail "$sink_endpoint/_sizes" | grep -qxF "$bucket/$object $bytes"; then
      echo "bench-s3-export.sh: the sink holds no object '$object' of $bytes bytes" >&2
      exit 1
    fi
    admin -c "DROP DATABASE run_$key"
    return
  fi
  if [ "$key" = s3 ]; then
    # The test server's CompleteMultipartUpload, from its request log: it rewrites the object.
    t[complete]+="$(python3 -c 'import json, sys
done = [json.loads(l) for l in open(sys.argv[1]) if "?uploadId=" in l and "\"POST\"" in l]
print("%.3f" % ((done[-1]["answered"] - done[-1]["received"]) / 1000) if done else "nan")' \
      "$work/s3-requests.log") "
    curl -sS --fail "${sign[@]}" -o "$work/read-back" "$UE_TEST_S3_ENDPOINT/$bucket/$object"
    curl -sS --fail "${sign[@]}" -X DELETE "$UE_TEST_S3_ENDPOINT/$bucket/$object" >/dev/null
  else
    cp "$work/objects-$key/$object" "$work/read-back"
  fi
  got=$(sha256sum "$work/read-back" | cut -d' ' -f1)
  if [ "$got" != "$sha" ] || [ "$(stat -c %s "$work/read-back")" != "$bytes" ]; then
    echo "bench-s3-export.sh: the $key object is not the file its message names" >&2
    exit 1
  fi
  file_bytes=$bytes
  admin -c "DROP DATABASE run_$key"
}
run_curl() { # the same file, one PUT with the curl CLI
  local seconds
  seconds=$(curl -sS --fail "${sign[@]}" -T "$work/read-back" -o /dev/null -w '%{time_total}' \
    "$UE_TEST_S3_ENDPOINT/$bucket/curl.csv.gz")
  curl -sS --fail "${sign[@]}" -X DELETE "$UE_TEST_S3_ENDPOINT/$bucket/curl.csv.gz" >/dev/null
  t[curl]+="$seconds "
}

directory="url = \"file://$work/objects-dir\""
s3="url = \"s3://$bucket/exports\"
[store.s3]
endpoint = \"$UE_TEST_S3_ENDPOINT\""
sink="url = \"s3://$bucket/exports\"
[store.s3]
endpoint = \"$sink_endpoint\""
declare -A store=([dir]=$directory [s3]=$s3 [sink]=$sink)
last() { awk '{ print $NF }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN { printf f, a / b }'; } # A B [FORMAT]
for ((round = 1; round <= rounds; round++)); do
  order=(dir s3 sink dir s3)
  for key in "${order[@]:$(((round - 1) % 3)):3}"; do run_export "$key" "${store[$key]}"; done
  run_curl
  # The exports of a round ran back to back: their ratios are the least affected by the
  # machine's load changing from round to round.
  t[pair]+="$(ratio "$(last "${t[s3]}")" "$(last "${t[dir]}")") "
  t[sink_pair]+="$(ratio "$(last "${t[sink]}")" "$(last "${t[dir]}")") "
  echo "round $round: directory ${t[dir]}| S3 ${t[s3]}| sink ${t[sink]}| S3 / directory" \
    "${t[pair]}| curl -T ${t[curl]}| start to object confirmed: directory ${t[dir_upload]}|" \
    "S3 ${t[s3_upload]}| sink ${t[sink_upload]}"
done

m() { median <<<"${t[$1]}" | awk '{ printf "%.3f", $1 }'; }
dir_s=$(m dir) s3_s=$(m s3) curl_s=$(m curl)
s3_ratio=$(ratio "$s3_s" "$dir_s" %.2f)
verdict=$(awk -v r="$s3_ratio" 'BEGIN { print r <= 1.05 ? "PASS" : "MISS" }')
row() { printf '%-58s %10s   %-10s %s\n' "$1" "$2" "$3" "$4"; }
echo
echo "user-export S3 export benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$users users in one COST_BASED group, $file_bytes gzip bytes; medians of $rounds rounds"
row "measurement" "value" "target" "verdict"
row "(g) user-export export --group, file:// store" "$dir_s s" "" ""
row "    the same to the S3 test server (s3rver)" "$s3_s s" "" ""
row "    S3 / directory" "$s3_ratio" "<= 1.05" "$verdict"
row "    S3 / directory within each round (median)" "$(m pair)" "" ""
row "    the test server's multipart completion (request log)" "$(m complete) s" "" ""
row "    the same to an S3 endpoint that keeps nothing (sink)" "$(m sink) s" "" ""
row "    sink / directory (the exporter's own S3 cost)" "$(ratio "$(m sink)" "$dir_s" %.2f)" "" ""
row "    sink / directory within each round (median)" "$(m sink_pair)" "" ""
row "    curl -T of the same file to the same server" "$curl_s s" "" ""
row "    start to object confirmed, directory / S3 / sink" \
  "$(m dir_upload) / $(m s3_upload) / $(m sink_upload) s" "" ""
echo "samples (s): directory ${t[dir]}; S3 ${t[s3]}; sink ${t[sink]};" \
  "S3 / directory ${t[pair]}; sink / directory ${t[sink_pair]}; completion ${t[complete]};" \
  "curl ${t[curl]}; start to object confirmed: directory ${t[dir_upload]}; S3 ${t[s3_upload]};" \
  "sink ${t[sink_upload]}"
