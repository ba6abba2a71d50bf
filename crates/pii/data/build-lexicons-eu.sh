#!/usr/bin/env bash
# Rebuilds the European name and place lexicons (given_names_eu.txt, surnames_eu.txt,
# cities_eu.txt, regions_eu.txt, countries_eu.txt) from the locale lists of the PyPI package
# `faker` at a pinned version, checked against its SHA-256 sum. SOURCES.md says where each list
# comes from and under which terms. Entries that are function words of the seven languages
# (common_words_eu.txt, hand-written) are left out, and so is anything with a digit. A town
# whose name is a lowercase word of Italian, Spanish, French, Portuguese or Dutch (Debian's
# word lists witalian, wspanish, wfrench, wportuguese, wbrazilian, wdutch: `Camino`, `Colli`,
# `Fiera`, `Passos`) is left out too: in text it is mostly that word.
#
# Usage:  bash build-lexicons-eu.sh [OUTPUT_DIR]        (default: the directory of this script)
# Needs:  python3 (>= 3.9), pip, apt-get (Debian) and dpkg-deb.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lexeu.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
python3 -m pip download -q --disable-pip-version-check --no-deps -d "$WORK" faker==40.63.0
( cd "$WORK" && sha256sum -c --quiet - ) <<'SUMS'
36627c20b575b4138f54b6c21f8703e9ab122fd487aca11319beec2aa6ca7232  faker-40.63.0-py3-none-any.whl
SUMS
mkdir -p "$WORK/pkg" && python3 -m zipfile -e "$WORK/faker-40.63.0-py3-none-any.whl" "$WORK/pkg"
bash "$HERE/fetch-word-lists.sh" "$WORK"
python3 - "$WORK/pkg" "$OUT" "$HERE/common_words_eu.txt" "$WORK/dict/usr/share/dict" <<'PYEOF'
import importlib, os, sys, unicodedata
pkg, out, stop_file, dict_dir = sys.argv[1:5]
dictionary = set()
for name in ("italian", "spanish", "french", "portuguese", "brazilian", "dutch"):
    with open(os.path.join(dict_dir, name), encoding="utf-8", errors="replace") as f:
        dictionary |= {unicodedata.normalize("NFC", w.strip()) for w in f if w.strip() and w.strip().islower()}
sys.path.insert(0, pkg)
stop = {l.strip().lower() for l in open(stop_file, encoding="utf-8") if l.strip() and not l.startswith("#")}

def attr(module, *names):
    p = importlib.import_module(module).Provider
    got = []
    for n in names:
        v = getattr(p, n, ())
        got.extend(v.keys() if hasattr(v, "keys") else v)
    return got

def words(values, split=True):
    """Single words (names of several words give each word; places stay whole)."""
    res = set()
    for v in values:
        v = unicodedata.normalize("NFC", str(v)).strip()
        parts = v.replace("-", " ").split() if split else [v]
        for w in parts:
            if len(w) < 2 or any(c.isdigit() for c in w) or w.lower() in stop:
                continue
            if not all(c.isalpha() or c in "'’ -." for c in w):
                continue
            res.add(w)
    return res

PERSON = ["de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH", "fr_BE", "es_ES", "it_IT", "nl_NL", "nl_BE",
          "pt_PT", "pt_BR", "en_GB", "en_IE"]
given, family = set(), set()
for loc in PERSON:
    m = "faker.providers.person." + loc
    given |= words(attr(m, "first_names", "first_names_male", "first_names_female"))
    family |= words(attr(m, "last_names"))
# Particles are no surnames of their own.
family -= {"de", "del", "della", "di", "da", "do", "dos", "das", "van", "von", "der", "den", "ter", "ten", "le", "la", "du", "des", "y", "e"}

cities = set()
for loc, names in [("de_DE", ["cities"]), ("de_AT", ["cities"]), ("de_CH", ["cities"]), ("nl_NL", ["cities"]),
                   ("nl_BE", ["cities"]), ("pt_PT", ["cities", "concelhos"]), ("it_IT", ["states"]), ("es_ES", ["states"])]:
    cities |= words(attr("faker.providers.address." + loc, *names), split=False)
# Italy's comuni (every municipality): names of five letters or more, so that short words
# (`Ala`, `Ora`) do not become places.
cities |= {c for c in words(attr("faker.providers.address.it_IT", "cities"), split=False) if len(c) >= 5}
cities = {c for c in cities if c.lower() not in dictionary and len(c) >= 3}
regions = set()
for loc, names in [("fr_FR", ["regions", "departments"]), ("de_CH", ["cantons"]), ("en_GB", ["counties"]),
                   ("en_IE", ["counties"]), ("pt_BR", ["estados"]), ("es_ES", ["states"])]:
    vals = attr("faker.providers.address." + loc, *names)
    # Departments and estados come as (code, name) pairs.
    vals = [v[1] if isinstance(v, tuple) else v for v in vals]
    regions |= words(vals, split=False)
countries = set()
for loc in ["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT"]:
    countries |= words(attr("faker.providers.address." + loc, "countries"), split=False)

def write(name, entries):
    entries = sorted({e for e in entries if e and not any(c.isdigit() for c in e)}, key=lambda s: s.encode())
    with open(f"{out}/{name}", "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(e + "\n" for e in entries))
    print(f"{name}: {len(entries)}")

write("given_names_eu.txt", given)
write("surnames_eu.txt", family)
write("cities_eu.txt", cities)
write("regions_eu.txt", regions)
write("countries_eu.txt", countries)
PYEOF
