#!/usr/bin/env bash
# Quality and speed of datapact's PII engine beside Microsoft Presidio (presidio-analyzer with
# spaCy en_core_web_md, installed pinned into target/bench/presidio-venv by
# bench/presidio/setup.sh) on the same texts:
#   - the generated corpus (`datapact pii corpus`, templates with decoys), and
#   - the held-out corpus crates/pii/data/eval/heldout.jsonl (written apart from the
#     recognizers; docs/BENCHMARKS.md gives datapact's blind first score on it and today's).
# Both detectors keep spans scoring >= 0.5 (Presidio's own default threshold is 0, which
# reports every low-score candidate); `datapact pii score` scores both outputs the same way.
#
# Usage: bash bench/pii-vs-presidio.sh [SAMPLES]     (default 1000 generated texts)
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES="${1:-1000}"
OUT=target/bench/pii-vs-presidio
mkdir -p "$OUT"

cargo build --release -q -p datapact-cli
BIN=target/release/datapact
PY="$(bash bench/presidio/setup.sh)"

"$BIN" pii corpus --samples "$SAMPLES" --seed 2026 > "$OUT/generated.jsonl"
cp crates/pii/data/eval/heldout.jsonl "$OUT/heldout.jsonl"

for corpus in generated heldout; do
  in="$OUT/$corpus.jsonl"
  lines=$(wc -l < "$in")
  bytes=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['text'].encode()) for l in open(sys.argv[1])))" "$in")
  start=$(date +%s.%N)
  "$BIN" pii scan --jsonl "$in" > "$OUT/$corpus.datapact.jsonl"
  end=$(date +%s.%N)
  "$PY" bench/presidio/presidio_scan.py --min-score 0.5 "$in" > "$OUT/$corpus.presidio.jsonl" 2> "$OUT/$corpus.presidio.log"
  echo
  echo "== $corpus corpus: $lines texts, $bytes bytes"
  python3 -c "import sys; s=float(sys.argv[3])-float(sys.argv[2]); n=int(sys.argv[1]); b=int(sys.argv[4]); print(f'datapact: {n/s:,.0f} texts/s, {b/s/1e6:.2f} MB/s (whole CLI run incl. start-up, one core)')" "$lines" "$start" "$end" "$bytes"
  echo "presidio: $(tail -n 1 "$OUT/$corpus.presidio.log")"
  echo "-- datapact"
  "$BIN" pii score "$in" "$OUT/$corpus.datapact.jsonl"
  echo "-- presidio"
  "$BIN" pii score "$in" "$OUT/$corpus.presidio.jsonl"
done
