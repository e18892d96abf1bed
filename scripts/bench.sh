#!/usr/bin/env bash
# PostgreSQL benchmark of the cost-based export (issue 3), beside psql on the same rows and the
# same SELECT, against a throwaway server from scripts/services/postgres.sh. See BENCHMARKS.md.
# Usage: scripts/bench.sh [BUILD_DIR]   (default: build)
# Environment: BENCH_ROUNDS (default 3), BENCH_USERS (default 1000000), BENCH_SMALL_USERS (default
# 100000), BENCH_GROUPS (default 1000: that many groups of BENCH_USERS / BENCH_GROUPS users),
# BENCH_S3_USERS (default 2000000: the group exported to a directory and to S3 by
# scripts/bench-s3-export.sh, run at the end, in BENCH_S3_ROUNDS rounds (default 5);
# BENCH_S3_USERS=0 skips it), BENCH_SCALE_SIZES
# (scripts/bench-scale.sh, after it; BENCH_SCALE_SIZES=0 skips it).
# Every measurement is repeated in each round, rounds alternate the order of the contenders, and
# the median of the rounds is reported. Targets that are missed are printed as MISS; the script
# exits 0 unless a step failed or an export did not do what it should.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
rounds=${BENCH_ROUNDS:-3}
users=${BENCH_USERS:-1000000}
small_users=${BENCH_SMALL_USERS:-100000}
many_groups=${BENCH_GROUPS:-1000}
cd "$(dirname "$0")/.."

cmake --build "$build_dir" --target export_stream_bench user-export >/dev/null
ue="$build_dir/user-export"
stream_bench=$(find "$build_dir" -name export_stream_bench -type f -executable | head -1)
if [ ! -x "$ue" ] || [ -z "$stream_bench" ]; then
  echo "bench.sh: user-export or export_stream_bench missing in $build_dir" >&2
  exit 1
fi
for tool in psql gzip /usr/bin/time; do
  command -v "$tool" >/dev/null || {
    echo "bench.sh: $tool is missing; run scripts/install-deps.sh test" >&2
    exit 1
  }
done

work=$(mktemp -d /tmp/user-export-bench.XXXXXX)
chmod 755 "$work" # the server runs as the postgres OS user when started as root
cleanup() {
  scripts/services/postgres.sh stop "$work" || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/services/postgres.sh start "$work"
# shellcheck disable=SC1091
source "$work/postgres.env"
server=${UE_TEST_PG_URL%/*} # postgresql://user:password@host:port
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
domain=6d1f6f8e-2c1b-4d5a-9a57-1c3c5a0b9e01

# config NAME DB: a configuration for database DB with a file:// store, JSON-lines messages and
# a staging directory of its own; prints its path.
config() {
  local file="$work/$1.toml"
  cat >"$file" <<EOF
[export]
domain_id = "$domain"
staging_dir = "$work/staging-$1"
[database]
url = "$server/$2"
[store]
url = "file://$work/objects-$1"
[messages]
file = "$work/messages-$1.jsonl"
EOF
  echo "$file"
}
fresh_db() { # NAME TEMPLATE: (re)creates NAME as a copy of TEMPLATE
  admin -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE $2 STRATEGY FILE_COPY"
}
max() { tr ' ' '\n' | sed '/^$/d' | sort -g | tail -n 1; }
declare -A t # name -> space-separated samples

# Templates: seeded once, frozen and analyzed so every copy starts with the same pages, hint bits
# and statistics. The 1M group and the small group are one COST_BASED group each; the many-group
# template seeds BENCH_GROUPS groups (the seed alternates the two types) and makes all of them
# COST_BASED.
seed_template() { # DB USERS GROUPS
  admin -c "CREATE DATABASE $1"
  local started
  started=$(now)
  "$ue" seed --config "$(config "seed-$1" "$1")" --users "$2" --groups "$3" >/dev/null 2>"$work/seed-$1.log" || {
    cat "$work/seed-$1.log" >&2
    exit 1
  }
  echo "seeded $1: $2 users in $3 group(s) in $(since "$started") s"
  [ "$3" -gt 1 ] && value "$1" "UPDATE matching_groups SET group_type = 'COST_BASED'" >/dev/null
  value "$1" "VACUUM (FREEZE, ANALYZE) users, profiles, matching_groups" >/dev/null
}
seed_template tpl_big "$users" 1
seed_template tpl_small "$small_users" 1
seed_template tpl_many "$users" "$many_groups"
group=$(value tpl_big "SELECT id FROM matching_groups")
echo "database size of $users users with profiles: $(value tpl_big "SELECT pg_size_pretty(pg_database_size('tpl_big'))")"

# (a)-(c) read the same rows in the same order: export_stream_bench claims the big group, prints
# the SELECT the repository streams under the claim's snapshot (the group's claimable users) and
# deletes the claim again; psql runs that same SELECT. Every timed stream of (c) claims anew
# (not timed), streams that fresh claim as an export's first attempt does, and deletes it.
fresh_db stream_big tpl_big
fresh_db stream_small tpl_small
cfg_stream_big=$(config stream-big stream_big)
cfg_stream_small=$(config stream-small stream_small)
"$stream_bench" "$cfg_stream_small" 0 >/dev/null
claim_line=$("$stream_bench" "$cfg_stream_big" 0 | tee "$work/claim.txt" | sed -n 's/^claim: //p')
select=$(sed -n 's/^select: //p' "$work/claim.txt")
echo "claim of the big group (not part of the stream step): $claim_line"
echo "SELECT streamed by the repository and copied by psql: $select"
fields=${select#SELECT }
fields=${fields%% FROM *}
# The whole-run baseline selects the same columns straight from the group's unsent users.
plain_select="SELECT $fields FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.group_id = '$group' AND NOT u.sent_to_matching_service ORDER BY u.id"

psql_copy() { psql "$server/$1" -X -q -v ON_ERROR_STOP=1 -c "\\copy ($2) TO STDOUT WITH (FORMAT csv)"; }
run_copy() {
  local s
  s=$(now)
  psql_copy stream_big "$select" >/dev/null
  t[copy]+="$(since "$s") "
}
run_gzip() {
  local s
  s=$(now)
  psql_copy stream_big "$select" | gzip -6 >"$work/psql.csv.gz"
  t[gzip]+="$(since "$s") "
  gzip_bytes=$(stat -c %s "$work/psql.csv.gz")
  rm -f "$work/psql.csv.gz"
}
run_stream() {
  local line
  line=$(/usr/bin/time -f "rss_kb=%M" -o "$work/rss.txt" "$stream_bench" "$cfg_stream_big" 1 |
    sed -n 's/^stream: //p')
  [ -n "$line" ] || { echo "export_stream_bench failed" >&2; exit 1; }
  stream_line=$line
  t[stream]+="$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' <<<"$line") "
  t[rss_stream_big]+="$(sed -n 's/rss_kb=//p' "$work/rss.txt") "
}
run_stream_small() {
  /usr/bin/time -f "rss_kb=%M" -o "$work/rss.txt" "$stream_bench" "$cfg_stream_small" 1 >/dev/null
  t[rss_stream_small]+="$(sed -n 's/rss_kb=//p' "$work/rss.txt") "
}

# (d) a whole run of the big group on a fresh copy: `user-export export --group`, checked
# afterwards (every user marked, one object, one message); against raw COPY of the group's
# unsent users plus a plain UPDATE marking them, also on a fresh copy.
check_export() { # DB CONFIG-NAME USERS GROUPS
  local marked objects messages
  marked=$(value "$1" "SELECT count(*) FROM users WHERE sent_to_matching_service")
  objects=$(find "$work/objects-$2" -name '*.csv.gz' | wc -l)
  messages=$(wc -l <"$work/messages-$2.jsonl")
  if [ "$marked" != "$3" ] || [ "$objects" != "$4" ] || [ "$messages" != "$4" ]; then
    echo "bench.sh: export of $1 marked $marked users (want $3), stored $objects files and" \
      "$messages messages (want $4); see $work/export-$2.log" >&2
    tail -n 20 "$work/export-$2.log" >&2
    exit 1
  fi
}
run_export() { # KEY TEMPLATE USERS GROUPS [--group ID]
  local key=$1 tpl=$2 n=$3 g=$4 cfg s
  shift 4
  fresh_db "run_$key" "$tpl"
  rm -rf "$work/objects-$key" "$work/messages-$key.jsonl"
  cfg=$(config "$key" "run_$key")
  s=$(now)
  /usr/bin/time -f "rss_kb=%M" -o "$work/rss.txt" "$ue" export --config "$cfg" "$@" \
    >"$work/export-$key.log" 2>&1 || {
    tail -n 20 "$work/export-$key.log" >&2
    exit 1
  }
  t[$key]+="$(since "$s") "
  t[rss_$key]+="$(sed -n 's/rss_kb=//p' "$work/rss.txt") "
  check_export "run_$key" "$key" "$n" "$g"
  admin -c "DROP DATABASE run_$key"
}
run_baseline() {
  local s u
  fresh_db run_base tpl_big
  s=$(now)
  psql_copy run_base "$plain_select" >/dev/null
  t[base_copy]+="$(since "$s") "
  u=$(now)
  value run_base "UPDATE users SET sent_to_matching_service = true WHERE group_id = '$group'" >/dev/null
  t[base_update]+="$(since "$u") "
  t[baseline]+="$(since "$s") "
  admin -c "DROP DATABASE run_base"
}

# (f)'s database baseline: the same per-group work done by psql alone, in as many sessions as
# the export has workers (4): each session copies its share of the groups (COPY of a group's
# unsent users, then the plain UPDATE marking them), so it pays PostgreSQL's own cost of reading
# and updating 1,000 scattered rows per group, without any claim, file, or message.
run_many_baseline() {
  local took
  fresh_db run_many_base tpl_many
  took=$(per_group_sessions run_many_base "$fields" "$work") || exit 1
  t[many_base]+="$took "
  admin -c "DROP DATABASE run_many_base"
}

steps=(run_copy run_gzip run_stream)
for ((round = 1; round <= rounds; round++)); do
  echo "round $round of $rounds"
  for ((i = 0; i < ${#steps[@]}; i++)); do # rotate the order of (a)-(c) every round
    "${steps[$(((i + round - 1) % ${#steps[@]}))]}"
  done
  run_stream_small
  if ((round % 2)); then
    run_baseline
    run_export whole_big tpl_big "$users" 1 --group "$group"
  else
    run_export whole_big tpl_big "$users" 1 --group "$group"
    run_baseline
  fi
  run_export whole_small tpl_small "$small_users" 1
  if ((round % 2)); then
    run_many_baseline
    run_export whole_many tpl_many "$users" "$many_groups"
  else
    run_export whole_many tpl_many "$users" "$many_groups"
    run_many_baseline
  fi
  echo "  copy ${t[copy]}| psql|gzip ${t[gzip]}| stream ${t[stream]}| baseline ${t[baseline]}|" \
    "whole ${t[whole_big]}| $many_groups groups ${t[whole_many]}| their baseline ${t[many_base]}"
done

m() { median <<<"${t[$1]}" | awk '{ printf "%.3f", $1 }'; }
copy=$(m copy) gzip=$(m gzip) stream=$(m stream) baseline=$(m baseline)
whole=$(m whole_big) many=$(m whole_many) many_base=$(m many_base)
mb() { awk -v k="$(max <<<"${t[$1]}")" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_sb=$(mb rss_stream_big) rss_ss=$(mb rss_stream_small) rss_wb=$(mb rss_whole_big)
rss_ws=$(mb rss_whole_small) rss_wm=$(mb rss_whole_many)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { # VALUE OP LIMIT
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = op == "<=" ? v <= l : v >= l; print ok ? "PASS" : "MISS" }'
}
row() { printf '%-58s %10s   %-10s %s\n' "$1" "$2" "$3" "$4"; }

echo
echo "user-export PostgreSQL benchmark: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$users users in one COST_BASED group (11 default columns); medians of $rounds rounds"
echo "stream output: $stream_line; psql | gzip -6: ${gzip_bytes:-?} bytes"
echo
row "measurement" "value" "target" "verdict"
row "(a) psql \\copy of the streamed SELECT > /dev/null" "$copy s" "" ""
row "(b) psql \\copy | gzip -6 > file" "$gzip s" "" ""
row "(c) export_stream_bench: stream -> CSV -> gzip -> staged file" "$stream s" "" ""
r=$(ratio "$stream" "$copy")
row "    stream / raw COPY" "$r" "<= 1.2" "$(verdict "$r" "<=" 1.2)"
r=$(ratio "$gzip" "$stream")
row "    (psql | gzip -6) / stream" "$r" ">= 1.7" "$(verdict "$r" ">=" 1.7)"
row "(d) user-export export --group (whole run, 1 group)" "$whole s" "" ""
row "    raw COPY of the group + plain UPDATE of its users" "$baseline s" "" ""
row "      of which COPY / UPDATE" "$(m base_copy) / $(m base_update) s" "" ""
r=$(ratio "$whole" "$baseline")
row "    whole run / (COPY + UPDATE)" "$r" "<= 1.3" "$(verdict "$r" "<=" 1.3)"
row "(e) peak RSS, stream, $users rows" "$rss_sb MB" "<= 64 MB" "$(verdict "$rss_sb" "<=" 64)"
row "    peak RSS, stream, $small_users rows" "$rss_ss MB" "<= 64 MB" "$(verdict "$rss_ss" "<=" 64)"
r=$(ratio "$rss_sb" "$rss_ss")
row "    stream RSS $users / $small_users rows" "$r" "<= 1.10" "$(verdict "$r" "<=" 1.10)"
row "    peak RSS, whole run, $users rows" "$rss_wb MB" "<= 64 MB" "$(verdict "$rss_wb" "<=" 64)"
row "    peak RSS, whole run, $small_users rows" "$rss_ws MB" "<= 64 MB" "$(verdict "$rss_ws" "<=" 64)"
r=$(ratio "$rss_wb" "$rss_ws")
row "    whole-run RSS $users / $small_users rows" "$r" "<= 1.10" "$(verdict "$r" "<=" 1.10)"
row "(f) $many_groups groups x $((users / many_groups)) users in one export" "$many s" "" ""
row "    peak RSS, $many_groups groups" "$rss_wm MB" "<= 64 MB" "$(verdict "$rss_wm" "<=" 64)"
r=$(ratio "$many" "$whole")
row "    $many_groups groups / one group of $users" "$r" "<= 2.0" "$(verdict "$r" "<=" 2.0)"
row "    psql alone, per group COPY + UPDATE in 4 sessions" "$many_base s" "" ""
row "    $many_groups groups / that baseline" "$(ratio "$many" "$many_base")" "" ""
echo
echo "samples (s): copy ${t[copy]}; gzip ${t[gzip]}; stream ${t[stream]}; whole ${t[whole_big]};" \
  "baseline ${t[baseline]}; $many_groups groups ${t[whole_many]}; their baseline ${t[many_base]}"
# Where a whole run's time goes, from the exporter's own log lines: `staged and uploaded` ends
# the stream/stage/upload step (its seconds= is the stream and stage alone), `group export
# finished` ends the run (seconds= since the claim began).
logged() { # LOG MESSAGE: the seconds= values of that message
  grep -F "$2" "$1" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p'
}
big_log="$work/export-whole_big.log" many_log="$work/export-whole_many.log"
echo "last whole run of the big group: process $(tr ' ' '\n' <<<"${t[whole_big]}" | sed '/^$/d' | tail -n 1) s;" \
  "group export (claim to commit) $(logged "$big_log" 'group export finished') s;" \
  "stream and stage $(logged "$big_log" 'staged and uploaded') s"
echo "last export of $many_groups groups: $(logged "$many_log" 'group export finished' | wc -l) groups;" \
  "per group (claim to commit) median $(logged "$many_log" 'group export finished' | median) s," \
  "sum $(logged "$many_log" 'group export finished' | awk '{ s += $1 } END { printf "%.1f", s }') s;" \
  "stream and stage median $(logged "$many_log" 'staged and uploaded' | median) s"

# (g) one group to a directory and to the S3 test server, with its own servers (issue 15).
if [ "${BENCH_S3_USERS:-2000000}" != 0 ]; then
  echo
  scripts/bench-s3-export.sh "$build_dir"
fi

# (h) the cost curve to 10 million users on PostgreSQL, with its own server (issue 16).
if [ "${BENCH_SCALE_SIZES:-default}" != 0 ]; then
  echo
  scripts/bench-scale.sh "$build_dir"
fi
