#!/usr/bin/env bash
# A backfill split into time shards, run by GNU parallel: on this machine (-j) or across hosts
# (--sshlogin). Each shard annotates the events of its window exactly as one run over the whole
# tree would (README, Backfill; man ctail-filter, BACKFILL).
#
#   examples/backfill-shards.sh [OPTIONS] TRAIL_DIR OUT_DIR [-- CTAIL_FLAGS...]
#
#   --shard HOURS      window of each shard (default 24)
#   --warm-up HOURS    trail files read before each window, learned from, not written (default 48)
#   --tail MINUTES     trail files read after each window: the delivery delay plus the larger of
#                      --hold and --settle (default 30)
#   -j N               shards run at once (default: GNU parallel's, one per core); each
#                      ctail-filter also uses several threads
#   --sshlogin LOGINS  run the shards on these hosts (GNU parallel's --sshlogin, e.g.
#                      `8/host1,8/host2`): TRAIL_DIR and OUT_DIR must be at the same paths on every
#                      host (a shared or synced file system), and ctail-filter on their PATH
#   --plan             write the plan (OUT_DIR/plan.tsv and one file list per shard), run nothing
#
# The plan comes from the trail files' names, ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_*.json.gz
# (the delivery time): shard K's window is [START + K*SHARD, START + (K+1)*SHARD), and it reads every
# file delivered from its window's start minus the warm-up to its end plus the tail. The first
# shard has no --since and the last no --until, so every event is written by exactly one shard.
# Output: OUT_DIR/shard-K.ndjson (and shard-K.err); `cat OUT_DIR/shard-*.ndjson` is the whole
# backfill, shard by shard (within a shard, in the order ctail-filter writes).
set -euo pipefail

shard_h=24 warm_h=48 tail_m=30 jobs="" sshlogin="" plan_only=0
usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --shard) shard_h=$2; shift 2 ;;
    --warm-up) warm_h=$2; shift 2 ;;
    --tail) tail_m=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --sshlogin) sshlogin=$2; shift 2 ;;
    --plan) plan_only=1; shift ;;
    -h|--help) usage ;;
    --) break ;;
    -*) echo "backfill-shards: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
trail=$1 out=$2; shift 2
[ "${1:-}" = "--" ] && shift
CTAIL=${CTAIL:-ctail-filter}
mkdir -p "$out"
trail=$(cd "$trail" && pwd) out=$(cd "$out" && pwd)

# Every trail file with its delivery time (Unix seconds), oldest first.
find "$trail" -type f \( -name '*_CloudTrail_*.json.gz' -o -name '*_CloudTrail_*.json' \) |
  awk -F/ '{
    n = split($NF, p, "_"); t = p[4]
    if (p[2] != "CloudTrail" || length(t) != 14 || t !~ /^[0-9]+T[0-9]+Z$/) next
    cmd = "date -u -d \"" substr(t,1,4) "-" substr(t,5,2) "-" substr(t,7,2) " " substr(t,10,2) ":" substr(t,12,2) "\" +%s"
    if (!(t in secs)) { cmd | getline s; close(cmd); secs[t] = s }
    print secs[t] "\t" $0
  }' | sort -n -k1,1 -k2,2 > "$out/files.tsv"
[ -s "$out/files.tsv" ] || { echo "backfill-shards: no trail files under $trail" >&2; exit 1; }

# The plan: one line per shard (index, since, until, its file list), and the lists.
awk -F'\t' -v shard=$((shard_h * 3600)) -v warm=$((warm_h * 3600)) -v tail=$((tail_m * 60)) -v out="$out" '
  { t[NR] = $1; f[NR] = $2 }
  END {
    first = int(t[1] / shard) * shard; last = t[NR]
    n = int((last - first) / shard) + 1
    for (k = 0; k < n; k++) {
      since = first + k * shard; until = since + shard
      list = out "/shard-" k ".files"
      printf "" > list
      for (i = 1; i <= NR; i++) if (t[i] >= since - warm && t[i] < until + tail) print f[i] > list
      close(list)
      printf "%d\t%s\t%s\t%s\n", k, (k == 0 ? "" : since), (k == n - 1 ? "" : until), list
    }
  }' "$out/files.tsv" > "$out/plan.tsv"
echo "backfill-shards: $(wc -l < "$out/files.tsv") trail files, $(wc -l < "$out/plan.tsv") shards of ${shard_h}h (warm-up ${warm_h}h, tail ${tail_m}m): $out/plan.tsv" >&2
[ "$plan_only" = 1 ] && exit 0

# One shard: its window as --since/--until (none at the ends), its files by --files-from. The
# runner is a script in OUT_DIR, so hosts reached by --sshlogin run the same one.
flags=""
[ $# -gt 0 ] && flags=$(printf '%q ' "$@")
cat > "$out/run-shard.sh" <<EOF
#!/usr/bin/env bash
# Written by backfill-shards.sh: run-shard.sh K SINCE UNTIL LIST (Unix seconds; empty: no bound)
set -euo pipefail
k=\$1 s=\$2 u=\$3 list=\$4 w=()
[ -n "\$s" ] && w+=(--since "\$(date -u -d @\$s +%FT%TZ)")
[ -n "\$u" ] && w+=(--until "\$(date -u -d @\$u +%FT%TZ)")
exec $(printf '%q' "$CTAIL") --quiet "\${w[@]}" $flags--files-from "\$list" > $(printf '%q' "$out")/shard-\$k.ndjson 2> $(printf '%q' "$out")/shard-\$k.err
EOF
args=(--colsep '\t' --halt soon,fail=1)
[ -n "$jobs" ] && args+=(-j "$jobs")
[ -n "$sshlogin" ] && args+=(--sshlogin "$sshlogin")
parallel "${args[@]}" bash "$out/run-shard.sh" {1} {2} {3} {4} :::: "$out/plan.tsv"
