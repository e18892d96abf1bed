#!/usr/bin/env bash
# Test service: a throwaway PostgreSQL server on loopback for the integration tests.
#   postgres.sh start DIR   initdb in DIR/postgres, start the server on a free port, create the
#                           test role and database, write `export UE_TEST_PG_URL=…` to
#                           DIR/postgres.env
#   postgres.sh stop DIR    stop the server (fast shutdown); DIR is left for the caller to remove
# PostgreSQL refuses to run as root: when started as root the server runs as the `postgres` OS
# user (DIR must be enterable by it, e.g. mode 755); as a normal user it runs as that user.
# Durability is off (fsync, synchronous_commit, full_page_writes): the data is disposable. The
# buffer cache and WAL size fit a benchmark of a million users.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath "$2")
base="$dir/postgres"
data="$base/data"
sock="$base/sock"
log="$base/server.log"

# The newest installed server; PG_BINDIR overrides.
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  bindir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null |
    sort -V | tail -n 1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql/*/bin;" \
    "install it with scripts/install-deps.sh test or set PG_BINDIR" >&2
  exit 1
fi

# Runs a command as the server's OS user.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  mkdir -p "$base"
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "postgres.sh: running as root needs the 'postgres' OS user (from the postgresql package)" >&2
      exit 1
    fi
    chown postgres: "$base"
  fi
  chmod 700 "$base"
  as_server_user mkdir -p "$sock"
  as_server_user "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$base/initdb.log" 2>&1 || {
    cat "$base/initdb.log" >&2
    exit 1
  }

  local port="" attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_server_user "$bindir/pg_ctl" start -D "$data" -l "$log" -w -t 60 -o \
      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=512MB -c max_wal_size=4GB -k $sock -p $port -c listen_addresses=127.0.0.1" \
      >/dev/null; then
      break
    fi
    echo "postgres.sh: start on port $port failed (attempt $attempt), retrying" >&2
    port=""
  done
  if [ -z "$port" ]; then
    tail -n 20 "$log" >&2 || true
    exit 1
  fi

  as_server_user "$bindir/psql" -X -q -h "$sock" -p "$port" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE ue_test LOGIN CREATEDB PASSWORD 'ue_test';
CREATE DATABASE ue_test OWNER ue_test;
SQL
  echo "export UE_TEST_PG_URL=postgresql://ue_test:ue_test@127.0.0.1:$port/ue_test" >"$dir/postgres.env"
  echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop() {
  if [ -f "$data/postmaster.pid" ]; then
    as_server_user "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
