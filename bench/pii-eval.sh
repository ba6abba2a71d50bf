#!/usr/bin/env bash
# Quality on the independent evaluation corpus (crates/pii/data/eval-independent: written by a
# separate session that never read the recognizers; seven languages; decoys in every message;
# 28 % of messages without personal data), datapact beside Presidio (presidio-analyzer with
# spaCy en_core_web_md, installed pinned by bench/presidio/setup.sh), both at score >= 0.5 and
# scored by the same `datapact pii score`: per type precision, recall, F1 and masking recall,
# the pooled figures, look-alikes flagged and texts without personal data flagged.
#
# The dev part is what the engine was worked on; the blind part is only ever measured.
# Presidio has no STREET_ADDRESS and no secret types: its masking recall (characters covered
# by any span) is the comparable figure for those.
#
# Usage: bash bench/pii-eval.sh [dev|blind|both]      (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS="${1:-both}"
[ "$PARTS" = both ] && PARTS="dev blind"
OUT=target/bench/pii-eval
mkdir -p "$OUT"
cargo build --release -q -p datapact-cli
BIN=target/release/datapact
PY="$(bash bench/presidio/setup.sh)"
for part in $PARTS; do
  in=crates/pii/data/eval-independent/$part.jsonl
  "$BIN" pii scan --jsonl "$in" > "$OUT/$part.datapact.jsonl"
  "$PY" bench/presidio/presidio_scan.py --min-score 0.5 "$in" > "$OUT/$part.presidio.jsonl" 2> "$OUT/$part.presidio.log"
  echo "== $part: $(wc -l < "$in") messages"
  echo "-- datapact"
  "$BIN" pii score "$in" "$OUT/$part.datapact.jsonl" --min-score 0.5
  echo "-- presidio ($(tail -n 1 "$OUT/$part.presidio.log"))"
  "$BIN" pii score "$in" "$OUT/$part.presidio.jsonl" --min-score 0.5
done
