#!/usr/bin/env bash
# Upload benchmark of the S3 store against the S3 test server, beside the curl command-line
# program uploading the same file to the same server in the same run.
# Usage: scripts/bench-s3.sh [BUILD_DIR] [SIZE_MIB] [ROUNDS]   (defaults: build, 200, 3)
# Each round runs every mode once, in the same order; the median of the rounds is reported.
# Every uploaded object is read back and compared by SHA-256.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
size_mib=${2:-200}
rounds=${3:-3}
cd "$(dirname "$0")/.."

cmake --build "$build_dir" --target s3_upload_bench >/dev/null
bench=$(find "$build_dir" -name s3_upload_bench -type f -executable | head -1)
work=$(mktemp -d /tmp/user-export-bench-s3.XXXXXX)
cleanup() {
  scripts/services/s3.sh stop "$work" || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/services/s3.sh start "$work" 2>/dev/null
# shellcheck disable=SC1091
source "$work/s3.env"
sign=(--aws-sigv4 aws:amz:us-east-1:s3 -u "$UE_TEST_S3_ACCESS_KEY:$UE_TEST_S3_SECRET_KEY"
  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')

# Random bytes compress no better than the gzip files the exporter stages.
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/staged.bin"
want=$(sha256sum "$work/staged.bin" | cut -d' ' -f1)
echo "file: ${size_mib} MiB ($(stat -c %s "$work/staged.bin") bytes), server: s3rver on loopback," \
  "$rounds rounds"

check_and_delete() { # PATH: the object must read back byte for byte; then it is removed
  local got
  got=$(curl -sS --fail "${sign[@]}" "$UE_TEST_S3_ENDPOINT/$1" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "read-back of $1 differs" >&2; exit 1; }
  curl -sS --fail "${sign[@]}" -X DELETE "$UE_TEST_S3_ENDPOINT/$1" >/dev/null
}

curl -sS --fail "${sign[@]}" -X PUT "$UE_TEST_S3_ENDPOINT/ue-bench-curl" >/dev/null
# "plain" uploads without the checks of a verified upload (checksums, whole-file digest, HEAD).
modes=("multipart 8 2" "multipart 8 2 plain" "multipart 8 1" "multipart 16 2" "single 8 1"
  "single 8 1 plain" "curl")
declare -A results
for ((round = 1; round <= rounds; round++)); do
  for mode in "${modes[@]}"; do
    if [ "$mode" = curl ]; then
      seconds=$(curl -sS --fail "${sign[@]}" -T "$work/staged.bin" -o /dev/null \
        -w '%{time_total}' "$UE_TEST_S3_ENDPOINT/ue-bench-curl/curl.bin")
      check_and_delete ue-bench-curl/curl.bin
      rate=$(awk -v s="$seconds" -v m="$size_mib" 'BEGIN { printf "%.1f", m / s }')
    else
      # shellcheck disable=SC2086
      line=$("$bench" "$work/staged.bin" $mode 2>/dev/null)
      check_and_delete "ue-bench/${line##*key=}"
      rate=$(sed -n 's/.*= \([0-9.]*\) MiB\/s.*/\1/p' <<<"$line")
    fi
    echo "round $round  ${mode/curl/curl CLI single PUT}: $rate MiB/s"
    results[$mode]+="$rate "
  done
done

echo "median of $rounds rounds, $size_mib MiB:"
for mode in "${modes[@]}"; do
  # shellcheck disable=SC2086
  median=$(printf '%s\n' ${results[$mode]} | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  case "$mode" in
    curl) label="curl CLI, one PUT" ;;
    single*) label="store, one PUT" ;;
    *) read -r _ part parallel _ <<<"$mode"; label="store, multipart ${part} MiB parts x${parallel}" ;;
  esac
  [[ "$mode" == *plain ]] && label+=", unverified"
  printf '  %-48s %7s MiB/s\n' "$label" "$median"
done
