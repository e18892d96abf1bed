#!/usr/bin/env bash
# Cost curve on PostgreSQL (issue 16): for each size N, N users in two groups (one COST_BASED,
# one NON_COST_BASED id-list group, N/2 each), exported by one `user-export export` on a fresh
# copy of a frozen template, beside raw COPY of the same rows (users joined with profiles, to
# /dev/null) plus an UPDATE marking them, on another fresh copy, in the same run. Reports wall
# time, rows/s, peak RSS and the ratio export / (COPY + UPDATE). Run by `make bench` after
# scripts/bench.sh; see BENCHMARKS.md.
# Usage: scripts/bench-scale.sh [BUILD_DIR]   (default: build)
# Environment: BENCH_SCALE_SIZES (default "1000000 4000000 10000000"), BENCH_SCALE_ROUNDS (default 1),
# BENCH_SCALE_GROUPS (default 2: the N users spread over this many groups, alternating the two
# types; 10 gives the mid-size layout of ten groups of N/10 exported by max_parallel_groups = 4).
# Every export is checked: all users marked, one file message and the id-list parts covering
# the id-list group's users. Exits 0 unless a step failed; missed targets print MISS.
set -euo pipefail
build_dir=$(realpath "${1:-build}")
sizes=${BENCH_SCALE_SIZES:-1000000 4000000 10000000}
rounds=${BENCH_SCALE_ROUNDS:-1}
groups=${BENCH_SCALE_GROUPS:-2}
cd "$(dirname "$0")/.."

cmake --build "$build_dir" --target user-export >/dev/null
ue="$build_dir/user-export"
work=$(mktemp -d /tmp/user-export-bench-scale.XXXXXX)
chmod 755 "$work" # the server runs as the postgres OS user when started as root
cleanup() {
  scripts/services/postgres.sh stop "$work" || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/services/postgres.sh start "$work"
# shellcheck disable=SC1091
source "$work/postgres.env"
server=${UE_TEST_PG_URL%/*}
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
domain=6d1f6f8e-2c1b-4d5a-9a57-1c3c5a0b9e01
fields="u.ref_id, u.username, u.email, u.phone, u.created_at, p.display_name, p.gender, p.date_of_birth, p.city, p.bio, p.interests"

config() { # NAME DB: a configuration of its own; prints its path
  local file="$work/$1.toml"
  cat >"$file" <<TOML
[export]
domain_id = "$domain"
staging_dir = "$work/staging-$1"
[database]
url = "$server/$2"
[store]
url = "file://$work/objects-$1"
[messages]
file = "$work/messages-$1.jsonl"
TOML
  echo "$file"
}
fresh_db() { admin -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE $2 STRATEGY FILE_COPY"; }

# With more than two groups, a second baseline: PostgreSQL doing the export's per-group work
# alone, in as many sessions as the export has workers (4). Each session takes every fourth
# group: a COPY of the group's unsent users (all columns for a COST_BASED group, ref_id alone
# for an id-list group, as the export reads them), then the plain UPDATE marking them. It pays
# the database's own cost of reading and updating each group's rows where they lie.
per_group_baseline() {
  local took
  fresh_db run_groups tpl_scale
  took=$(per_group_sessions run_groups "$fields" "$work") || exit 1
  t[groups_$1]+="$took "
  admin -c "DROP DATABASE run_groups"
}

declare -A t
results=()
for n in $sizes; do
  admin -c "DROP DATABASE IF EXISTS tpl_scale" -c "CREATE DATABASE tpl_scale"
  started=$(now)
  "$ue" seed --config "$(config seed tpl_scale)" --users "$n" --groups "$groups" >/dev/null \
    2>"$work/seed.log" || { cat "$work/seed.log" >&2; exit 1; }
  value tpl_scale "VACUUM (FREEZE, ANALYZE) users, profiles, matching_groups" >/dev/null
  echo "seeded $n users in $groups groups in $(since "$started") s" \
    "($(value tpl_scale "SELECT string_agg(group_type, ', ' ORDER BY id) FROM matching_groups")," \
    "$(value tpl_scale "SELECT pg_size_pretty(pg_database_size('tpl_scale'))"))"
  id_list_users=$(value tpl_scale "SELECT count(*) FROM users u JOIN matching_groups g ON g.id = u.group_id WHERE g.group_type = 'NON_COST_BASED'")
  for ((round = 1; round <= rounds; round++)); do
    # The baseline: the same rows read and marked by PostgreSQL alone.
    fresh_db run_base tpl_scale
    s=$(now)
    psql "$server/run_base" -X -q -v ON_ERROR_STOP=1 -c "\\copy (SELECT $fields FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE NOT u.sent_to_matching_service ORDER BY u.id) TO '/dev/null' WITH (FORMAT csv)"
    t[copy_$n]+="$(since "$s") "
    u=$(now)
    value run_base "UPDATE users SET sent_to_matching_service = true WHERE NOT sent_to_matching_service" >/dev/null
    t[update_$n]+="$(since "$u") "
    t[base_$n]+="$(since "$s") "
    admin -c "DROP DATABASE run_base"
    if [ "$groups" -gt 2 ]; then per_group_baseline "$n"; fi

    fresh_db run_scale tpl_scale
    rm -rf "$work/objects-scale" "$work/messages-scale.jsonl"
    cfg=$(config scale run_scale)
    s=$(now)
    /usr/bin/time -f "rss_kb=%M" -o "$work/rss.txt" "$ue" export --config "$cfg" \
      >"$work/export.log" 2>&1 || { tail -n 20 "$work/export.log" >&2; exit 1; }
    t[export_$n]+="$(since "$s") "
    t[rss_$n]+="$(sed -n 's/rss_kb=//p' "$work/rss.txt") "
    marked=$(value run_scale "SELECT count(*) FROM users WHERE sent_to_matching_service")
    ids=$(python3 -c 'import json,sys
n = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    n += len(m["value"].get("refIds", []))
print(n)' "$work/messages-scale.jsonl")
    if [ "$marked" != "$n" ] || [ "$ids" != "$id_list_users" ]; then
      echo "bench-scale.sh: the export of $n users marked $marked and sent $ids ids" \
        "(want $id_list_users); see $work/export.log" >&2
      exit 1
    fi
    admin -c "DROP DATABASE run_scale"
    echo "N=$n round $round: export ${t[export_$n]}| COPY ${t[copy_$n]}| UPDATE ${t[update_$n]}|" \
      "${t[groups_$n]:+per-group ${t[groups_$n]}| }rss_kb ${t[rss_$n]}"
  done
  admin -c "DROP DATABASE tpl_scale"
done

m() { median <<<"${t[$1]}"; }
row() { printf '%-12s %10s %12s %14s %10s %8s %10s\n' "$@"; }
echo
echo "user-export scale benchmark (PostgreSQL, $groups groups): $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); medians of $rounds round(s)"
row "users" "export s" "rows/s" "COPY+UPDATE s" "ratio" "verdict" "peak RSS"
first_rate=""
for n in $sizes; do
  e=$(m "export_$n") b=$(m "base_$n")
  rate=$(awk -v n="$n" -v e="$e" 'BEGIN { printf "%.0f", n / e }')
  [ -z "$first_rate" ] && first_rate=$rate
  ratio=$(awk -v a="$e" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
  rss=$(awk -v k="$(m "rss_$n")" 'BEGIN { printf "%.0f MB", k / 1024 }')
  row "$n" "$e" "$rate" "$b" "$ratio" "$(awk -v r="$ratio" 'BEGIN { print r <= 1.0 ? "PASS" : "MISS" }')" "$rss"
  if [ -n "${t[groups_$n]:-}" ]; then
    g=$(m "groups_$n")
    echo "  per-group baseline (psql, COPY + UPDATE of each group, 4 sessions): $g s;" \
      "export / it: $(awk -v a="$e" -v b="$g" 'BEGIN { printf "%.2f", a / b }')"
  fi
  results+=("$n:$rate")
done
last_rate=${results[-1]#*:}
echo "rows/s at the largest size / the smallest: $(awk -v a="$last_rate" -v b="$first_rate" \
  'BEGIN { r = a / b; printf "%.2f (%s, target >= 0.85)", r, (r >= 0.85 ? "PASS" : "MISS") }')"
echo "samples: $(for n in $sizes; do printf 'N=%s export %s COPY %s UPDATE %s; ' "$n" "${t[export_$n]}" "${t[copy_$n]}" "${t[update_$n]}"; done)"
