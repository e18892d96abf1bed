#!/usr/bin/env bash
# Test service: a librdkafka mock cluster (three brokers speaking the Kafka protocol on
# loopback, topics flairbit-users and flairbit-dlq) for the integration tests.
#   kafka.sh start DIR   run tests/kafka/kafka_mock_cluster from the build directory
#                        ($UE_BUILD_DIR, default build) with its stdin on the FIFO DIR/kafka/control
#                        and write to DIR/kafka.env:
#                          export UE_TEST_KAFKA_BOOTSTRAP=127.0.0.1:port,...
#                          export UE_TEST_KAFKA_CONTROL=DIR/kafka/control
#                        Tests inject faults by writing one command per line to the FIFO
#                        (broker_down ID, broker_up ID, all_down, all_up, rtt ID MS,
#                        error APIKEY ERRCODE COUNT, topic_error TOPIC ERRCODE,
#                        topic_create NAME PARTITIONS); answers (OK / ERR reason) go to
#                        DIR/kafka/cluster.log.
#   kafka.sh stop DIR    send `quit`, wait for the process, kill it if it does not exit
# The program must already be built (make build builds every target).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath "$2")
base="$dir/kafka"
fifo="$base/control"
log="$base/cluster.log"
pidfile="$base/cluster.pid"
repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${UE_BUILD_DIR:-build}
case "$build_dir" in
  /*) ;;
  *) build_dir="$repo/$build_dir" ;;
esac
bin="$build_dir/tests/kafka/kafka_mock_cluster"

start() {
  if [ ! -x "$bin" ]; then
    echo "kafka.sh: $bin is not built; run 'make build' (or set UE_BUILD_DIR)" >&2
    exit 1
  fi
  mkdir -p "$base"
  rm -f "$fifo"
  mkfifo -m 600 "$fifo"
  # Opening the FIFO read-write keeps a writer attached, so the cluster does not see end of
  # input when one test's writer closes; `stop` ends it with `quit` instead.
  "$bin" <>"$fifo" >"$log" 2>&1 &
  echo $! >"$pidfile"

  local bootstrap="" i
  for i in $(seq 1 100); do
    bootstrap=$(sed -n 's/^BOOTSTRAP=//p' "$log" 2>/dev/null | head -n 1)
    [ -n "$bootstrap" ] && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  if [ -z "$bootstrap" ]; then
    echo "kafka.sh: the mock cluster did not print its bootstrap servers:" >&2
    tail -n 20 "$log" >&2 || true
    stop
    exit 1
  fi
  {
    echo "export UE_TEST_KAFKA_BOOTSTRAP=$bootstrap"
    echo "export UE_TEST_KAFKA_CONTROL=$fifo"
  } >"$dir/kafka.env"
  echo "kafka.sh: librdkafka mock cluster on $bootstrap"
}

stop() {
  [ -f "$pidfile" ] || return 0
  local pid i
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    # The cluster holds the FIFO open, so this write does not block while it runs.
    timeout 5 sh -c 'echo quit >"$1"' sh "$fifo" || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile" "$fifo"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
