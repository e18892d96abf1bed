# Helpers shared by the benchmark scripts (bench.sh, bench-s3-export.sh, bench-scale.sh):
# source it after setting `server` to the PostgreSQL URL without a database name.
#   admin ARGS…        psql on the maintenance database ue_test, stopping at the first error
#   value DB SQL       one value from DB
#   now / since T      a timestamp, and the seconds elapsed since one (3 decimals)
#   median             the median of the numbers on standard input ("nan" for none)
#   per_group_sessions DB FIELDS DIR
#                      PostgreSQL alone doing an export's per-group work on DB, in four
#                      sessions (each takes every fourth group): a COPY of the group's unsent
#                      users (FIELDS for a COST_BASED group, u.ref_id for an id-list group, as
#                      the export reads them), then the plain UPDATE marking them; prints the
#                      seconds it took, and fails when a user is left unmarked
admin() { PGOPTIONS="-c client_min_messages=warning" psql "$server/ue_test" -X -q -v ON_ERROR_STOP=1 "$@"; }
value() { psql "$server/$1" -X -q -t -A -v ON_ERROR_STOP=1 -c "$2"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) { print "nan"; exit } print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
per_group_sessions() {
  local db=$1 fields=$2 dir=$3 i s took
  value "$db" "SELECT id || ' ' || group_type FROM matching_groups ORDER BY id" >"$dir/groups.txt"
  for ((i = 0; i < 4; i++)); do
    awk -v i="$i" -v f="$fields" '(NR - 1) % 4 == i {
      cols = ($2 == "COST_BASED") ? f : "u.ref_id"
      printf "\\copy (SELECT %s FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.group_id = '"'"'%s'"'"' AND NOT u.sent_to_matching_service ORDER BY u.id) TO '"'"'/dev/null'"'"' WITH (FORMAT csv)\n", cols, $1
      printf "UPDATE users SET sent_to_matching_service = true WHERE group_id = '"'"'%s'"'"' AND NOT sent_to_matching_service;\n", $1
    }' "$dir/groups.txt" >"$dir/groups-$i.sql"
  done
  s=$(now)
  for ((i = 0; i < 4; i++)); do
    psql "$server/$db" -X -q -v ON_ERROR_STOP=1 -f "$dir/groups-$i.sql" >/dev/null &
  done
  wait
  took=$(since "$s")
  [ "$(value "$db" "SELECT count(*) FROM users WHERE NOT sent_to_matching_service")" = 0 ] || {
    echo "the per-group baseline on $db left users unmarked" >&2
    return 1
  }
  echo "$took"
}
