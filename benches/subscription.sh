#!/usr/bin/env bash
# Throughput on CloudWatch Logs subscription payloads against plain NDJSON of the same events
# (issue 18: within 10%). One generated stream, written four ways:
#
#   plain.ndjson        one event per line (the yardstick)
#   plain.ndjson.gz     the same, gzip (the yardstick for the Firehose object)
#   decoded.ndjson      one DATA_MESSAGE per line, BATCH events each (what a consumer logs)
#   lambda.ndjson       {"awslogs":{"data":"<base64 of gzip>"}} per line (what a Lambda is given)
#   firehose-NNN.gz     the DATA_MESSAGEs as gzip members back to back, 40 per object (Firehose
#                       objects in S3; an object inflates to one line of about 28 MB, read a
#                       payload at a time)
#
#   benches/subscription.sh [EVENTS] [BATCH]     (default 200000 events, 500 per message)
#
# hyperfine runs each with the default flags, output to /dev/null.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-200000}
BATCH=${2:-500}
DATA=target/bench-data/subscription-$EVENTS-$BATCH
mkdir -p "$DATA"
cargo build --release --quiet -p ctail-filter -p ctail-sim
BIN=target/release
if [ ! -s "$DATA/firehose-000.gz" ]; then
  "$BIN/ctail-sim" --seed 1 --events "$EVENTS" > "$DATA/plain.ndjson"
  gzip -k -f -6 "$DATA/plain.ndjson"
  python3 - "$DATA" "$BATCH" <<'PY'
import base64, gzip, json, sys
data, batch = sys.argv[1], int(sys.argv[2])
lines = open(f"{data}/plain.ndjson", encoding="utf-8").read().splitlines()
per_object = 40
with open(f"{data}/decoded.ndjson", "w") as dec, open(f"{data}/lambda.ndjson", "w") as lam:
    for n in range(0, len(lines), batch):
        msg = json.dumps({"messageType": "DATA_MESSAGE", "owner": "111122223333",
                          "logGroup": "aws-cloudtrail-logs", "logStream": "111122223333_CloudTrail_us-east-1",
                          "subscriptionFilters": ["f"],
                          "logEvents": [{"id": str(n + i), "timestamp": 0, "message": l}
                                        for i, l in enumerate(lines[n:n + batch])]},
                         separators=(",", ":"), ensure_ascii=False)
        z = gzip.compress(msg.encode(), compresslevel=6, mtime=0)
        dec.write(msg + "\n")
        lam.write(json.dumps({"awslogs": {"data": base64.b64encode(z).decode()}}) + "\n")
        with open(f"{data}/firehose-{n // (per_object * batch):03d}.gz", "ab") as fh:
            fh.write(z)
PY
fi
ls -la "$DATA"
cat "$DATA"/* > /dev/null
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-markdown "$DATA/result.md" \
  -n plain "$BIN/ctail-filter $DATA/plain.ndjson" \
  -n decoded "$BIN/ctail-filter $DATA/decoded.ndjson" \
  -n lambda "$BIN/ctail-filter $DATA/lambda.ndjson" \
  -n plain.gz "$BIN/ctail-filter $DATA/plain.ndjson.gz" \
  -n firehose.gz "$BIN/ctail-filter $DATA/firehose-*.gz" \
  --output null
