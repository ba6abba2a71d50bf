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
bash "$HERE/fetch-word-lists.sh" "$WORK"
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
