#!/usr/bin/env bash
# One shard of a backfill, picked by an index: what each task of a Kubernetes Indexed Job
# (examples/backfill-k8s.yaml, JOB_COMPLETION_INDEX) or an AWS Batch array job
# (examples/backfill-batch.json, AWS_BATCH_JOB_ARRAY_INDEX) runs. The same plan as
# examples/backfill-shards.sh, one shard at a time (README, Backfill).
#
#   START=2024-05-01T00:00:00Z SHARDS=30 TRAIL=s3://bucket/AWSLogs OUT=s3://bucket/annotated \
#     examples/backfill-shard.sh [INDEX] [-- CTAIL_FLAGS...]
#
# INDEX defaults to $JOB_COMPLETION_INDEX, then $AWS_BATCH_JOB_ARRAY_INDEX. Shard INDEX writes the
# events of [START + INDEX*SHARD, START + (INDEX+1)*SHARD) (no lower bound for the first, no upper
# for the last), reading the trail files delivered from WARM_UP before to TAIL after.
#   SHARD_HOURS (24), WARM_UP_HOURS (48), TAIL_MINUTES (30)
#   TRAIL  a folder, or s3://BUCKET/PREFIX above the AWSLogs/ACCOUNT/CloudTrail/REGION/Y/M/D/ folders
#          (the days needed are copied with `aws s3 cp`, into WORK)
#   OUT    a folder or an s3:// prefix: shard-INDEX.ndjson is written there
#   WORK   scratch space (default: a temporary folder)
set -euo pipefail

index=${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-}}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then index=$1; shift; fi
[ "${1:-}" = "--" ] && shift
: "${index:?no shard index (argument, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX)}"
: "${START:?START (start of the first window, e.g. 2024-05-01T00:00:00Z)}" "${SHARDS:?SHARDS}"
: "${TRAIL:?TRAIL}" "${OUT:?OUT}"
shard=$(( ${SHARD_HOURS:-24} * 3600 )) warm=$(( ${WARM_UP_HOURS:-48} * 3600 ))
tail=$(( ${TAIL_MINUTES:-30} * 60 ))
CTAIL=${CTAIL:-ctail-filter}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

start=$(date -u -d "$START" +%s)
since=$(( start + index * shard )) until=$(( since + shard ))
from=$(( since - warm )) to=$(( until + tail ))

# The trail files of the days the shard reads, copied from S3 when TRAIL is there.
dir=$TRAIL
if [[ $TRAIL == s3://* ]]; then
  dir=$work/trail
  for (( day = from / 86400 * 86400; day < to; day += 86400 )); do
    aws s3 cp --recursive --quiet "$TRAIL" "$dir" --exclude '*' \
      --include "*/CloudTrail/*/$(date -u -d @$day +%Y/%m/%d)/*"
  done
fi

# Its files: delivered (the time in their names, which sorts as text) in [from, to).
lo=$(date -u -d @$from +%Y%m%dT%H%MZ) hi=$(date -u -d @$to +%Y%m%dT%H%MZ)
find "$dir" -type f \( -name '*_CloudTrail_*.json.gz' -o -name '*_CloudTrail_*.json' \) |
  awk -F/ -v lo="$lo" -v hi="$hi" '{
    split($NF, p, "_"); t = p[4]
    if (p[2] == "CloudTrail" && length(t) == 14 && t ~ /^[0-9]+T[0-9]+Z$/ && t >= lo && t < hi) print
  }' > "$work/shard-$index.files"

w=()
[ "$index" -gt 0 ] && w+=(--since "$(date -u -d @$since +%FT%TZ)")
[ "$index" -lt $(( SHARDS - 1 )) ] && w+=(--until "$(date -u -d @$until +%FT%TZ)")
result=$work/shard-$index.ndjson
"$CTAIL" --quiet "${w[@]}" "$@" --files-from "$work/shard-$index.files" > "$result"
if [[ $OUT == s3://* ]]; then
  aws s3 cp --quiet "$result" "$OUT/shard-$index.ndjson"
else
  mkdir -p "$OUT" && mv "$result" "$OUT/shard-$index.ndjson"
fi
echo "backfill-shard: shard $index of $SHARDS: $(wc -l < "$work/shard-$index.files") trail files -> $OUT/shard-$index.ndjson" >&2
