#!/usr/bin/env bash
# Upload benchmark of the S3 store against the S3 test server, beside the curl command-line
# program uploading the same file to the same server in the same run.
# Usage: scripts/bench-s3.sh [BUILD_DIR] [SIZE_MIB]   (defaults: build, 200)
# Every uploaded object is read back and compared by SHA-256.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
size_mib=${2:-200}
cd "$(dirname "$0")/.."

cmake --build "$build_dir" --target s3_upload_bench >/dev/null
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
echo "file: ${size_mib} MiB ($(stat -c %s "$work/staged.bin") bytes), server: s3rver on loopback"

check() { # KEY: the object must read back byte for byte
  local got
  got=$(curl -sS --fail "${sign[@]}" "$UE_TEST_S3_ENDPOINT/$1" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "read-back of $1 differs" >&2; exit 1; }
}

bench=$(find "$build_dir" -name s3_upload_bench -type f -executable | head -1)
for run in "multipart 8 2" "multipart 8 1" "multipart 16 2" "single 8 1"; do
  # shellcheck disable=SC2086
  line=$("$bench" "$work/staged.bin" $run)
  echo "$line"
  check "ue-bench/${line##*key=}"
  curl -sS --fail "${sign[@]}" -X DELETE "$UE_TEST_S3_ENDPOINT/ue-bench/${line##*key=}" >/dev/null
done

curl -sS --fail "${sign[@]}" -X PUT "$UE_TEST_S3_ENDPOINT/ue-bench-curl" >/dev/null
read -r seconds _ < <(curl -sS --fail "${sign[@]}" -T "$work/staged.bin" \
  -o /dev/null -w '%{time_total} %{speed_upload}\n' "$UE_TEST_S3_ENDPOINT/ue-bench-curl/curl.bin")
check ue-bench-curl/curl.bin
awk -v s="$seconds" -v m="$size_mib" \
  'BEGIN { printf "curl CLI  single PUT                 %.1f MiB in %.2f s = %.1f MiB/s\n", m, s, m / s }'
