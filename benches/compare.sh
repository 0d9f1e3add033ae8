#!/usr/bin/env bash
# Side-by-side throughput on one generated stream, in one go: ctail-filter (annotate everything,
# --identity, --format text), the minimal reference program (benches/reference.rs), jq, and jaq
# when installed. Prints MB/s, events/s, the ratios, and peak resident memory.
#
#   benches/compare.sh [EVENTS]        (default 500000 events, about 0.7 GB)
#
# Each command reads the stream from a file already in the page cache and writes to /dev/null;
# the best of RUNS runs counts (the least disturbed by anything else on the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-500000}
RUNS=${RUNS:-3}
JQ_EVENTS=${JQ_EVENTS:-50000}   # jq is slow: it gets a prefix of the stream, rated the same way
DATA=target/bench-data
mkdir -p "$DATA"

cargo build --release --quiet -p ctail-filter -p ctail-sim --example reference
BIN=target/release
STREAM=$DATA/stream-$EVENTS.ndjson
if [ ! -s "$STREAM" ]; then
  "$BIN/ctail-sim" --seed 1 --events "$EVENTS" > "$STREAM"
fi
JQ_STREAM=$DATA/stream-$EVENTS-head$JQ_EVENTS.ndjson
[ -s "$JQ_STREAM" ] || head -n "$JQ_EVENTS" "$STREAM" > "$JQ_STREAM"
cat "$STREAM" > /dev/null
PERSON=$("$BIN/ctail-sim" --seed 1 --events 2000 --truth /dev/stdout 2>/dev/null >/dev/null | grep -o '"person":"[a-z]*"' | head -1 | cut -d'"' -f4 || true)
PERSON=${PERSON:-alice}

# run NAME INPUT CMD...: best wall time of RUNS, and its peak RSS.
results=()
run() {
  local name=$1 input=$2; shift 2
  local bytes lines best="" rss=0
  bytes=$(stat -c %s "$input"); lines=$(wc -l < "$input")
  for _ in $(seq "$RUNS"); do
        local out
    /usr/bin/time -f '%e %M' -o "$DATA/time.txt" "$@" < "$input" > /dev/null 2>/dev/null
    out=$(tail -1 "$DATA/time.txt")
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  awk -v n="$name" -v b="$bytes" -v l="$lines" -v t="$best" -v m="$rss" 'BEGIN{
    if (t <= 0) t = 0.001;
    printf "%-34s %8.1f MB/s %10.0f events/s %8.0f MB peak RSS\n", n, b/1e6/t, l/t, m/1024 }'
  results+=("$name=$(awk -v b="$bytes" -v t="$best" 'BEGIN{ if (t<=0) t=0.001; print b/1e6/t }')")
}

echo "stream: $EVENTS simulated events, $(( $(stat -c %s "$STREAM") / 1000000 )) MB, $(nproc) cores, $(date -u +%F)"
run "cat | cat (pipe ceiling)"          "$STREAM" sh -c 'cat | cat'
run "reference (benches/reference.rs)"  "$STREAM" "$BIN/examples/reference"
run "ctail-filter"                      "$STREAM" "$BIN/ctail-filter" --quiet
run "ctail-filter --identity $PERSON"   "$STREAM" "$BIN/ctail-filter" --quiet --identity "$PERSON"
run "ctail-filter --format text"        "$STREAM" "$BIN/ctail-filter" --quiet --format text --color never
run "ctail-filter --threads 1"          "$STREAM" "$BIN/ctail-filter" --quiet --threads 1
run "ctail-filter --threads 2"          "$STREAM" "$BIN/ctail-filter" --quiet --threads 2
# Through a pipe, as behind `aws logs tail` or `kcat`: cat takes its share of the two cores.
run "cat | reference"                   "$STREAM" sh -c "cat | $BIN/examples/reference"
run "cat | ctail-filter"                "$STREAM" sh -c "cat | $BIN/ctail-filter --quiet"
if command -v jq > /dev/null; then
  run "jq '. + {x: .userIdentity.arn}'" "$JQ_STREAM" jq -c '. + {x: .userIdentity.arn}'
fi
if command -v jaq > /dev/null; then
  run "jaq '. + {x: .userIdentity.arn}'" "$JQ_STREAM" jaq -c '. + {x: .userIdentity.arn}'
fi

get() { for r in "${results[@]}"; do if [ "${r%%=*}" = "$1" ]; then echo "${r#*=}"; fi; done; return 0; }
ct=$(get "ctail-filter"); ref=$(get "reference (benches/reference.rs)")
one=$(get "ctail-filter --threads 1"); two=$(get "ctail-filter --threads 2")
id=$(get "ctail-filter --identity $PERSON")
pref=$(get "cat | reference"); pct=$(get "cat | ctail-filter")
echo
awk -v c="$ct" -v r="$ref" -v o="$one" -v t="$two" -v i="$id" 'BEGIN{
  printf "ctail-filter / reference:             %5.2f (target >= 0.85)\n", c/r
  printf "ctail-filter --threads 1 / reference: %5.2f\n", o/r
  printf "--identity / annotate everything:     %5.2f (target >= 1)\n", i/c
  printf "threads 2 / threads 1:                %5.2f\n", t/o }'
awk -v c="$pct" -v r="$pref" 'BEGIN{ printf "through a pipe, ctail / reference:    %5.2f\n", c/r }'
jq=$(get "jq '. + {x: .userIdentity.arn}'" || true)
[ -n "$jq" ] && awk -v c="$ct" -v j="$jq" 'BEGIN{ printf "ctail-filter / jq:                    %5.1f (target >= 10)\n", c/j }'
jaq=$(get "jaq '. + {x: .userIdentity.arn}'" || true)
[ -n "$jaq" ] && awk -v c="$ct" -v j="$jaq" 'BEGIN{ printf "ctail-filter / jaq:                   %5.1f\n", c/j }'
echo
echo "memory per tracked session:"
cargo bench --quiet --bench session_memory 2>/dev/null | tail -3
