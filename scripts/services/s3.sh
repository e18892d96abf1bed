#!/usr/bin/env bash
# S3 test server for the integration tests: s3rver (pinned in tests/peers/s3), which checks
# SigV4 signatures, on a free loopback port.
#   s3.sh start DIR   installs the peer from its lockfile if needed, starts it with its data in
#                     DIR/s3-data, waits until it answers, checks that it rejects a wrong secret,
#                     and writes `export UE_TEST_S3_…=…` lines to DIR/s3.env
#   s3.sh stop DIR    stops it and removes its data
# UE_S3_PEER_ARGS adds options of tests/peers/s3/server.js (fault injection for private
# instances, e.g. "--crash-on-part 2"). UE_S3_PEER_TLS=1 serves https with a self-signed
# certificate for 127.0.0.1, written to DIR/s3-tls-cert.pem and exported as
# UE_TEST_S3_CA_BUNDLE. Requires node, npm, curl (and openssl for TLS).
set -euo pipefail

cmd=${1:?usage: s3.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: s3.sh start|stop DIR}")
root=$(cd "$(dirname "$0")/../.." && pwd)
peer="$root/tests/peers/s3"
access_key=S3RVER
secret_key=S3RVER

tls_args=()
signed_status() { # SECRET URL: HTTP status of a signed HEAD request
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I "${tls_args[@]}" \
    --aws-sigv4 aws:amz:us-east-1:s3 -u "$access_key:$1" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$2" || true
}

start() {
  mkdir -p "$dir"
  if [ ! -d "$peer/node_modules/@20minutes/s3rver" ]; then
    echo "s3.sh: installing the S3 test server from tests/peers/s3/package-lock.json" >&2
    npm ci --prefix "$peer" --no-audit --no-fund --loglevel=error >&2
  fi
  rm -f "$dir/s3.port" "$dir/s3.env"
  : >"$dir/s3-requests.log"
  local scheme=http server_tls=() ca_line=""
  if [ "${UE_S3_PEER_TLS:-}" = 1 ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/s3-tls-key.pem" \
      -out "$dir/s3-tls-cert.pem" 2>/dev/null
    scheme=https
    server_tls=(--key "$dir/s3-tls-key.pem" --cert "$dir/s3-tls-cert.pem")
    tls_args=(--cacert "$dir/s3-tls-cert.pem")
    ca_line="export UE_TEST_S3_CA_BUNDLE=$dir/s3-tls-cert.pem"
  fi
  # shellcheck disable=SC2086  # UE_S3_PEER_ARGS is a list of options
  setsid nohup node "$peer/server.js" --dir "$dir/s3-data" --port-file "$dir/s3.port" \
    --request-log "$dir/s3-requests.log" "${server_tls[@]}" ${UE_S3_PEER_ARGS:-} \
    >"$dir/s3.log" 2>&1 </dev/null &
  echo $! >"$dir/s3.pid"

  local port=""
  for _ in $(seq 1 300); do
    if [ -s "$dir/s3.port" ]; then port=$(cat "$dir/s3.port"); break; fi
    if ! kill -0 "$(cat "$dir/s3.pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "s3.sh: the S3 test server did not start; its log:" >&2
    cat "$dir/s3.log" >&2 || true
    exit 1
  fi
  local endpoint="$scheme://127.0.0.1:$port"
  local status=""
  for _ in $(seq 1 100); do
    status=$(signed_status "$secret_key" "$endpoint/")
    [ "$status" = 200 ] && break
    sleep 0.1
  done
  if [ "$status" != 200 ]; then
    echo "s3.sh: the S3 test server at $endpoint does not answer (HTTP $status)" >&2
    exit 1
  fi
  status=$(signed_status "not-the-secret" "$endpoint/")
  if [ "$status" != 403 ]; then
    echo "s3.sh: the S3 test server accepted a wrong secret (HTTP $status): it must check" \
      "signatures" >&2
    exit 1
  fi
  cat >"$dir/s3.env" <<ENV
export UE_TEST_S3_ENDPOINT=$endpoint
export UE_TEST_S3_ACCESS_KEY=$access_key
export UE_TEST_S3_SECRET_KEY=$secret_key
export UE_TEST_S3_REQUEST_LOG=$dir/s3-requests.log
$ca_line
ENV
  echo "s3.sh: S3 test server at $endpoint (pid $(cat "$dir/s3.pid"))" >&2
}

stop() {
  if [ -f "$dir/s3.pid" ]; then
    local pid
    pid=$(cat "$dir/s3.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/s3.pid"
  fi
  rm -rf "$dir/s3-data" "$dir/s3.port" "$dir/s3-tls-key.pem"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: s3.sh start|stop DIR" >&2; exit 2 ;;
esac
