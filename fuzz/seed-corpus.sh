#!/usr/bin/env bash
# Seeds fuzz/corpus/TARGET from the test fixtures (the corpus is not committed: .gitignore).
# framer and pipeline read a control byte first (chunking, limits, flags): their seeds get a few.
set -euo pipefail
cd "$(dirname "$0")"
fx=../tests/fixtures
for t in framer envelope decode pipeline; do mkdir -p "corpus/$t"; done
i=0
for f in "$fx"/shapes/*.* "$fx"/shapes/bad/*.ndjson "$fx"/lineage/*.ndjson "$fx"/streams/*.ndjson "$fx"/streams/*.json; do
    case $f in *.tsv | *.md | *.py | *.gz) continue ;; esac
    i=$((i + 1))
    cp "$f" "corpus/envelope/f$i"
    cp "$f" "corpus/decode/f$i"
    for c in 00 09; do
        { printf "\\x$c"; cat "$f"; } > "corpus/framer/f$i-$c"
        { printf "\\x$c"; cat "$f"; } > "corpus/pipeline/f$i-$c"
    done
done
# Gzip input is recognised by its magic bytes: one seed of it for the pipeline.
{ printf '\x00'; cat "$fx"/shapes/s3.json.gz; } > corpus/pipeline/s3-gz
# Envelopes and the decoder see one value at a time: the first lines of each fixture too.
for f in "$fx"/shapes/*.ndjson "$fx"/lineage/*.ndjson; do
    head -n 6 "$f" | split -l 1 - "corpus/envelope/$(basename "$f" .ndjson)-"
done
cp corpus/envelope/*-a? corpus/decode/
# Short prefixes of each shape with every flag combination that matters.
for c in 01 13 21 87 93 a5 fe; do
    for f in lines.ndjson pretty.json logs-tail-detailed.txt mixed.txt; do
        { printf "\\x$c"; head -c 3000 "$fx/shapes/$f"; } > "corpus/framer/c$c-$f"
        { printf "\\x$c"; head -c 3000 "$fx/shapes/$f"; } > "corpus/pipeline/c$c-$f"
    done
done
for t in framer envelope decode pipeline; do echo "$t: $(ls "corpus/$t" | wc -l) seeds"; done
