#!/usr/bin/env bash
# Rebuilds name_words.txt: the entries of the name and place lexicons of this directory that are
# also lowercase words of English, German, French, Spanish, Italian, Portuguese or Dutch
# (`Job`, `Nova`, `Sage`, `Guide`, `Lead`, `Ora`, `Vi`), as Debian's word lists at pinned
# versions spell them. The detector takes such a word for a name or a place only with more
# evidence (a cue, a surname after it): alone at the start of a sentence it is mostly the word.
# The shipped list holds only the lexicons' own entries; nothing of the word lists ships.
# German nouns are capitalized in `wngerman` as names are, so only its lowercase words count.
#
# Usage:  bash build-name-words.sh [OUTPUT_FILE]      (default: name_words.txt beside this script)
# Needs:  python3, apt-get and dpkg-deb on Debian bookworm (the pinned versions are bookworm's;
#         elsewhere fetch them from snapshot.debian.org).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/name_words.txt}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/namewords.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
PKGS="wamerican=2020.12.07-2 wngerman=20161207-11 witalian=1.10 wspanish=1.0.30 wfrench=1.2.7-2 wportuguese=20220621-1 wdutch=1:2.20.19-2"
# shellcheck disable=SC2086
( cd "$WORK" && { apt-get download -q $PKGS 2>/dev/null || { apt-get update -q >/dev/null && apt-get download -q $PKGS; }; } )
( cd "$WORK" && sha256sum -c --quiet - ) <<'SUMS'
c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4  wamerican_2020.12.07-2_all.deb
9053a69641bcf59233055f1b3ca341046751534b2b32d1e32c67b23ab9b98fec  wngerman_20161207-11_all.deb
dc6eb1423726ce838332936db078406b646d0f3773701a5b1566a68495ddf076  witalian_1.10_all.deb
a2b7504fb8c12deaf6c4e868f749a3d05a42caee348f0f5bb006238e925cde18  wspanish_1.0.30_all.deb
a5cbe63b988adbdb973983aab5b76fe2b715e9a37b012f31ad1e925b1a4b4c29  wfrench_1.2.7-2_all.deb
82d6aeca20d072bbe962db68e4c50d3cce76ecb12295608692dff4638daec2a0  wportuguese_20220621-1_all.deb
79dc0dbbd9b3e029ba84423a804c635aca87105521962f9b4c3023399c94dc35  wdutch_1%3a2.20.19-2_all.deb
SUMS
for deb in "$WORK"/*.deb; do dpkg-deb -x "$deb" "$WORK/dict"; done
python3 - "$HERE" "$OUT" "$WORK/dict/usr/share/dict" <<'PYEOF'
import os, sys, unicodedata
here, out, dict_dir = sys.argv[1:4]
words = set()
for name in ("american-english", "ngerman", "italian", "spanish", "french", "portuguese", "dutch"):
    with open(os.path.join(dict_dir, name), encoding="utf-8", errors="replace") as f:
        for w in f:
            w = unicodedata.normalize("NFC", w.strip())
            # Lowercase words only: a capitalized entry may be a name itself.
            if len(w) >= 2 and w.isalpha() and w.islower():
                words.add(w)
lexicons = ["first_names.txt", "given_names_intl.txt", "given_names_eu.txt", "last_names.txt",
            "surnames_intl.txt", "surnames_eu.txt", "cities.txt", "cities_extra.txt",
            "cities_eu.txt", "regions.txt", "regions_eu.txt"]
found = set()
for name in lexicons:
    with open(os.path.join(here, name), encoding="utf-8") as f:
        for line in f:
            e = line.strip()
            if not e or e.startswith("#") or " " in e:
                continue
            if e.lower() in words:
                found.add(e.lower())
with open(out, "w", encoding="utf-8") as f:
    f.write("# Entries of the name and place lexicons that are also lowercase words of English, German,\n")
    f.write("# French, Spanish, Italian, Portuguese or Dutch. Built by build-name-words.sh; see SOURCES.md.\n")
    for w in sorted(found):
        f.write(w + "\n")
print(f"{out}: {len(found)} entries", file=sys.stderr)
PYEOF
