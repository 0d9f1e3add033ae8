#!/usr/bin/env bash
# A backfill's reading, measured on gzip S3 trail files, in one go: `gzip -dc` alone (the floor
# of any reader of these files on one core), ctail-filter reading the files itself (inflating
# them ahead on threads of their own), `gzip -dc | ctail-filter` (inflating in another process),
# and ctail-filter --threads 1. Prints MB/s of JSON (inflated), the ratios to gzip -dc, and peak
# resident memory.
#
#   benches/compare-gzip.sh [EVENTS]     (default 120000 simulated events, about 180 MB of JSON)
#   TRAIL=DIR benches/compare-gzip.sh    (any tree of trail files instead, e.g. ../shared/data)
#
# The simulated files: `ctail-sim --accounts 1 --late 900 --dup 0.01 --trail-dir`, gzipped at
# gzip's default level: one file per region and five minutes of delivery, as CloudTrail writes
# them. Every command reads from the page cache and writes to /dev/null; best of RUNS counts.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-120000}
RUNS=${RUNS:-5}
DATA=target/bench-data
mkdir -p "$DATA"
cargo build --release --quiet -p ctail-filter -p ctail-sim
BIN=target/release
if [ -z "${TRAIL:-}" ]; then
  TRAIL=$DATA/trail-$EVENTS
  if [ ! -s "$TRAIL.done" ]; then
    rm -rf "$TRAIL"
    "$BIN/ctail-sim" --seed 1 --events "$EVENTS" --accounts 1 --late 900 --dup 0.01 --trail-dir "$TRAIL"
    find "$TRAIL" -name '*.json' -print0 | xargs -0 -P "$(nproc)" -n 64 gzip -6
    date > "$TRAIL.done"
  fi
fi
# In delivery order (the time in the names), as ctail-filter reads them and as a pipe must give them.
LIST=$DATA/files.list
find "$TRAIL" -name '*_CloudTrail_*.json.gz' | awk -F/ '{print $NF "\t" $0}' | sort -t_ -k4,4 -k1,1 | cut -f2 > "$LIST"
files=$(wc -l < "$LIST")
gz=$(xargs -a "$LIST" cat | wc -c)
json=$(xargs -a "$LIST" gzip -dc | wc -c)
xargs -a "$LIST" cat > /dev/null

# run NAME CMD: best wall time of RUNS, its peak RSS, MB/s of JSON; and the least CPU time
# (user + system, every process of CMD) of the RUNS: on a machine shared with other work, wall
# time says how much of the cores this run got, CPU time what it cost.
results=()
run() {
  local name=$1 cmd=$2 best="" rss=0 cpu=""
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M %U %S' -o "$DATA/time.txt" sh -c "$cmd" > /dev/null 2> /dev/null
    local t m u s c
    read -r t m u s < <(tail -1 "$DATA/time.txt")
    c=$(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}')
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
    if [ -z "$cpu" ] || awk "BEGIN{exit !($c < $cpu)}"; then cpu=$c; fi
  done
  awk -v n="$name" -v b="$json" -v t="$best" -v m="$rss" -v c="$cpu" 'BEGIN{
    if (t <= 0) t = 0.001
    printf "%-34s %6.2f s %7.1f MB/s %6.2f s CPU %5.0f MB peak RSS\n", n, t, b/1e6/t, c, m/1024 }'
  results+=("$name=$best")
}

echo "$files trail files: $((gz / 1000000)) MB gzip, $((json / 1000000)) MB of JSON; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
run "gzip -dc" "xargs -a $LIST gzip -dc"
run "ctail-filter FILES" "$BIN/ctail-filter --quiet --files-from $LIST"
run "gzip -dc | ctail-filter" "xargs -a $LIST gzip -dc | $BIN/ctail-filter --quiet"
run "ctail-filter --threads 1 FILES" "$BIN/ctail-filter --quiet --threads 1 --files-from $LIST"

get() { for r in "${results[@]}"; do if [ "${r%%=*}" = "$1" ]; then echo "${r#*=}"; fi; done; }
g=$(get "gzip -dc")
echo
for name in "ctail-filter FILES" "gzip -dc | ctail-filter" "ctail-filter --threads 1 FILES"; do
  awk -v n="$name" -v g="$g" -v t="$(get "$name")" 'BEGIN{ printf "%-32s %5.2f x the speed of gzip -dc alone\n", n, g/t }'
done
# The same bytes out, whichever way they were read.
a=$("$BIN/ctail-filter" --quiet --files-from "$LIST" | md5sum)
b=$(xargs -a "$LIST" gzip -dc | "$BIN/ctail-filter" --quiet | md5sum)
c=$("$BIN/ctail-filter" --quiet --threads 1 --files-from "$LIST" | md5sum)
[ "$a" = "$b" ] && [ "$a" = "$c" ] && echo "output identical all three ways" || echo "OUTPUT DIFFERS"
