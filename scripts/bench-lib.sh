# Helpers shared by the benchmark scripts (bench.sh, bench-s3-export.sh, bench-scale.sh):
# source it after setting `server` to the PostgreSQL URL without a database name.
#   admin ARGS…        psql on the maintenance database ue_test, stopping at the first error
#   value DB SQL       one value from DB
#   now / since T      a timestamp, and the seconds elapsed since one (3 decimals)
#   median             the median of the numbers on standard input ("nan" for none)
admin() { PGOPTIONS="-c client_min_messages=warning" psql "$server/ue_test" -X -q -v ON_ERROR_STOP=1 "$@"; }
value() { psql "$server/$1" -X -q -t -A -v ON_ERROR_STOP=1 -c "$2"; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) { print "nan"; exit } print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
