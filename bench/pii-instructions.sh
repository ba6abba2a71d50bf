#!/usr/bin/env bash
# Instructions the PII scan executes over the generated mixed corpus (40,000 messages, the scan
# benchmark's) and the independent one (2,400 messages), each message its own scan: counted by
# valgrind's callgrind inside `Analyzer::analyze` only, after the lexicons and automata are
# built. Unlike wall time on a shared VM, whose speed moves by half from one day to the next,
# the count is the same on every run, so builds can be compared across days. It is not the
# target (MB/s per core, `cargo bench -p datapact-pii --bench scan`): a cache miss costs no
# instruction.
#
# Also prints the span digest (`corpus_scan digest`): a change meant to leave behaviour alone
# leaves it unchanged.
#
# Usage: bash bench/pii-instructions.sh [BASE_REV]
#   With BASE_REV (a commit, tag or branch; 932dcc4 or later, which holds the independent
#   corpus), that revision is built from a git worktree into the same target directory and
#   counted in the same run, beside this tree. Each build scans
#   its own tree's corpora: where the generator or the data changed between the two, the byte
#   counts printed differ and the two are not comparable. (The crate's sources are touched to
#   make cargo rebuild them: the next build of this tree compiles the crate again.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
command -v valgrind > /dev/null || { echo "pii-instructions: valgrind is required (apt-get install valgrind)" >&2; exit 1; }
OUT=target/bench/pii-instructions
mkdir -p "$OUT"

build() { # DIR NAME: builds the harness in DIR, keeps its binary as $OUT/NAME
  # Both trees share one target directory, where cargo gives the crate and the harness the same
  # paths: touching their sources makes it build them again, where a build it finds fresh would
  # leave the other tree's.
  find "$1/crates/pii/src" "$1/crates/pii/examples/corpus_scan.rs" -name '*.rs' -exec touch {} +
  (cd "$1" && CARGO_TARGET_DIR="$ROOT/target" cargo build -q --profile profiling -p datapact-pii --example corpus_scan)
  cp "$ROOT/target/profiling/examples/corpus_scan" "$OUT/$2"
}

names=(this)
if [ -n "${1:-}" ]; then
  git rev-parse --verify -q "$1^{commit}" > /dev/null || { echo "pii-instructions: $1 is no revision" >&2; exit 1; }
  base_dir=$(mktemp -d)
  trap 'git -C "$ROOT" worktree remove --force "$base_dir" || rm -rf "$base_dir"' EXIT
  git worktree add -q --detach "$base_dir" "$1"
  # A base older than the harness gets this tree's, with the benchmarks' module it reads its
  # corpora through (only the harness is built there).
  if [ ! -f "$base_dir/crates/pii/examples/corpus_scan.rs" ]; then
    cp crates/pii/examples/corpus_scan.rs "$base_dir/crates/pii/examples/"
    cp crates/pii/benches/common/mod.rs "$base_dir/crates/pii/benches/common/"
  fi
  build "$base_dir" base
  names=(base this)
fi
build "$ROOT" this

for name in "${names[@]}"; do
  bin="$OUT/$name"
  digest=$("$bin" digest) || { echo "pii-instructions: $name: the digest failed" >&2; exit 1; }
  echo "== $name: $digest"
  for corpus in mixed independent; do
    log="$OUT/$name.$corpus.log"
    # Collection is toggled on entering and leaving the function of this exact name: a pattern
    # would match closures called inside it too, and toggle the count off within them.
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      --toggle-collect='datapact_pii::analyzer::Analyzer::analyze' \
      "$bin" "$corpus" 1 > "$OUT/$name.$corpus.out" 2> "$log" || { echo "pii-instructions: valgrind failed, see $log" >&2; exit 1; }
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
    bytes=$(sed -n 's/.* \([0-9]*\) bytes.*/\1/p' "$OUT/$name.$corpus.out")
    # None counted: the function was renamed or inlined, and the figure would mean nothing.
    [ "${ir:-0}" -gt 0 ] && [ -n "$bytes" ] || { echo "pii-instructions: nothing counted in $log" >&2; exit 1; }
    awk -v c="$corpus" -v ir="$ir" -v b="$bytes" \
      'BEGIN { printf "%-12s %8.1f M instructions  %6.1f per byte  (%d bytes)\n", c, ir / 1e6, ir / b, b }'
  done
done
