#!/usr/bin/env bash
# The development part's addresses with their names swapped (bench/pii-perturb.py), scanned and
# scored for each seed given (default 1 2 3). Usage: bash bench/pii-perturb.sh [SEED...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p datapact-cli
out=target/bench/pii-perturb
mkdir -p "$out"
for seed in "${@:-1 2 3}"; do
  for s in $seed; do
    python3 bench/pii-perturb.py "$s" "$out/dev-$s.jsonl"
    target/release/datapact pii scan --jsonl "$out/dev-$s.jsonl" > "$out/found-$s.jsonl"
    echo "seed $s"
    target/release/datapact pii score "$out/dev-$s.jsonl" "$out/found-$s.jsonl" --min-score 0.5 \
      | grep -E "type|STREET_ADDRESS|LOCATION |PERSON |all types"
  done
done
