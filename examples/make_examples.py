#!/usr/bin/env python3
"""Derive the upstream shapes of examples/story.ndjson used by the README recipes.

    python3 examples/make_examples.py            # regenerate + verify
    python3 examples/make_examples.py --check    # verify only, fail if a file is out of date
    python3 examples/make_examples.py --with-binary target/debug/ctail-filter
                                                 # also run every shape through ctail-filter
                                                 # and compare with story.ndjson's output

Source of truth: story.ndjson beside this script (hand-built, one compact event per line).
Writes, beside this script:

    logs-tail-detailed.txt   what `aws logs tail /aws/cloudtrail --format detailed` prints
    logs-tail-short.txt      ... `--format short`
    logs-tail-json.txt       ... `--format json` (header line, then the event pretty-printed)
    kcat-eventbridge.ndjson  `kcat -J` records whose payload is an EventBridge envelope string
    s3/ACCOUNT_CloudTrail_us-east-1_20240501T0000Z_story.json.gz
                             S3 trail files: gzip of {"Records":[...]}, one per recipientAccountId

The formats follow tests/fixtures/shapes/make_shapes.py (same timestamp, stream-name, EventBridge
and kcat layouts). Everything is deterministic (fixed fake milliseconds, uuid5 ids, gzip mtime 0):
regenerating gives byte-identical files. Only writes into the folder this script lives in.
"""

import datetime as dt
import gzip
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
STORY = HERE / "story.ndjson"
REGION = "us-east-1"


def dumps_compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def ev_time(ev):
    return dt.datetime.strptime(ev["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def fake_millis(i):
    # CloudWatch Logs timestamps carry milliseconds; CloudTrail's eventTime does not. Every fifth
    # is a whole second, where the CLI's `json` format prints no fraction.
    return 0 if i % 5 == 0 else (123 + 211 * i) % 1000


def tail_ts(ev, i):
    # --format detailed: datetime.isoformat(timespec='microseconds'), 2024-05-01T09:00:12.123000+00:00
    return ev_time(ev).strftime("%Y-%m-%dT%H:%M:%S") + ".%03d000+00:00" % fake_millis(i)


def json_ts(ev, i):
    # --format json: datetime.isoformat(), no fraction when it is zero (AWS CLI v2,
    # awscli/customizations/logs/tail.py, PrettyJSONLogEventsFormatter)
    ms = fake_millis(i)
    frac = ".%03d000" % ms if ms else ""
    return ev_time(ev).strftime("%Y-%m-%dT%H:%M:%S") + frac + "+00:00"


def short_ts(ev):
    # --format short: 2024-05-01T09:00:12
    return ev_time(ev).strftime("%Y-%m-%dT%H:%M:%S")


def stream_name(ev):
    # CloudTrail names its log streams account_ID_CloudTrail_region.
    return "%s_CloudTrail_%s" % (ev["recipientAccountId"], ev["awsRegion"])


def pretty(raw):
    # `aws logs tail --format json` pretty-prints the message with 4 spaces.
    return json.dumps(json.loads(raw), indent=4, ensure_ascii=False)


def eventbridge(raw, ev, i):
    if ev.get("eventType") == "AwsConsoleSignIn":
        dtype = "AWS Console Sign In via CloudTrail"
    elif ev.get("eventType") == "AwsServiceEvent":
        dtype = "AWS Service Event via CloudTrail"
    else:
        dtype = "AWS API Call via CloudTrail"
    head = {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "ctail-example:story:eventbridge:%d:%s" % (i, ev["eventID"]))),
        "detail-type": dtype,
        "source": "aws." + ev["eventSource"].split(".")[0],
        "account": ev["recipientAccountId"],
        "time": ev["eventTime"],
        "region": ev["awsRegion"],
        "resources": [],
    }
    # The event goes in verbatim as "detail", so the payload keeps its bytes.
    return dumps_compact(head)[:-1] + ',"detail":' + raw + "}"


def kcat(payload, i, ev):
    ts = int(ev_time(ev).timestamp()) * 1000 + fake_millis(i)
    head = {"topic": "cloudtrail", "partition": 0, "offset": 4200 + i, "tstype": "create",
            "ts": ts, "broker": 1, "key": None, "payload": payload}
    return dumps_compact(head)


def s3_name(account):
    return "s3/%s_CloudTrail_%s_20240501T0000Z_story.json.gz" % (account, REGION)


def load():
    text = STORY.read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text, "story.ndjson: LF line ends, final newline"
    raws = text.split("\n")[:-1]
    evs = [json.loads(r) for r in raws]
    for r, e in zip(raws, evs):
        assert dumps_compact(e) == r, "story.ndjson must be compact json.dumps output: " + e["eventID"]
    times = [e["eventTime"] for e in evs]
    assert times == sorted(times), "story.ndjson must be in eventTime order"
    keys = [(e["eventID"], e["recipientAccountId"]) for e in evs]
    assert len(set(keys)) == len(keys), "eventID + recipientAccountId must be unique"
    return raws, evs


def build(raws, evs):
    idx = range(len(raws))
    files = {}
    files["logs-tail-detailed.txt"] = "".join(
        "%s %s %s\n" % (tail_ts(evs[i], i), stream_name(evs[i]), raws[i]) for i in idx)
    files["logs-tail-short.txt"] = "".join("%s %s\n" % (short_ts(evs[i]), raws[i]) for i in idx)
    files["logs-tail-json.txt"] = "".join(
        # '%s %s %s' % (timestamp, stream, '\n' + json): the header line ends with a space.
        "%s %s \n%s\n" % (json_ts(evs[i], i), stream_name(evs[i]), pretty(raws[i])) for i in idx)
    files["kcat-eventbridge.ndjson"] = "".join(
        kcat(eventbridge(raws[i], evs[i], i), i, evs[i]) + "\n" for i in idx)
    for acct in sorted({e["recipientAccountId"] for e in evs}):
        mine = [raws[i] for i in idx if evs[i]["recipientAccountId"] == acct]
        # Real trail files (invictus/s3) end with a newline after the closing brace.
        body = '{"Records":[' + ",".join(mine) + "]}\n"
        files[s3_name(acct)] = gzip.compress(body.encode("utf-8"), compresslevel=9, mtime=0)
    return {k: (v.encode("utf-8") if isinstance(v, str) else v) for k, v in files.items()}


def decode(name, data):
    """Re-read one shape with plain json, independently of build(), as compact strings."""
    R = dumps_compact
    if name.endswith(".gz"):
        return [R(o) for o in json.loads(gzip.decompress(data).decode("utf-8"))["Records"]]
    text = data.decode("utf-8")
    if name == "logs-tail-detailed.txt":
        return [R(json.loads(l.split(" ", 2)[2])) for l in text.splitlines()]
    if name == "logs-tail-short.txt":
        return [R(json.loads(l.split(" ", 1)[1])) for l in text.splitlines()]
    if name == "logs-tail-json.txt":
        parts = re.split(r"^\d{4}-\d\d-\d\dT\S+ \S+ \n", text, flags=re.M)
        assert parts[0] == ""
        return [R(json.loads(p)) for p in parts[1:]]
    if name == "kcat-eventbridge.ndjson":
        return [R(json.loads(json.loads(l)["payload"])["detail"]) for l in text.splitlines()]
    raise KeyError(name)


def verify(files, raws, evs):
    for name, data in files.items():
        got = decode(name, data)
        if name.endswith(".gz"):
            acct = name.split("/")[1].split("_")[0]
            want = [r for r, e in zip(raws, evs) if e["recipientAccountId"] == acct]
        else:
            want = raws
        assert got == want, "%s does not decode back to story.ndjson" % name
    # S3 files together hold every event exactly once.
    s3 = sorted(r for n, d in files.items() if n.endswith(".gz") for r in decode(n, d))
    assert s3 == sorted(raws)


def verify_with_binary(binary, files):
    """Every shape gives, line for line, the annotated output of story.ndjson (same order).
    The S3 files, read dev first then prod, give the same records and annotations, in file order."""
    def run(*paths):
        p = subprocess.run([binary, "-q", *paths], cwd=HERE, capture_output=True, check=True)
        return p.stdout.decode("utf-8").splitlines()
    want = run("story.ndjson")
    for name in ("logs-tail-detailed.txt", "logs-tail-short.txt", "logs-tail-json.txt",
                 "kcat-eventbridge.ndjson"):
        assert run(name) == want, "%s: output differs from story.ndjson's" % name
    s3 = sorted(n for n in files if n.endswith(".gz"))
    assert sorted(run(*s3)) == sorted(want), "S3 files (dev, then prod): output differs"
    print("binary check: %d records, every shape gives the same annotated output" % len(want))


def main():
    args = sys.argv[1:]
    check_only = "--check" in args
    binary = None
    if "--with-binary" in args:
        binary = os.path.abspath(args[args.index("--with-binary") + 1])
    raws, evs = load()
    files = build(raws, evs)
    verify(files, raws, evs)
    if check_only:
        stale = [n for n, d in files.items() if not (HERE / n).exists() or (HERE / n).read_bytes() != d]
        if stale:
            print("out of date: " + ", ".join(sorted(stale)), file=sys.stderr)
            sys.exit(1)
        print("ok: %d files up to date" % len(files))
    else:
        (HERE / "s3").mkdir(exist_ok=True)
        for n, d in sorted(files.items()):
            (HERE / n).write_bytes(d)
        print("wrote %d files from %d events" % (len(files), len(raws)))
    if binary:
        verify_with_binary(binary, files)


if __name__ == "__main__":
    main()
