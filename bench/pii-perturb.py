#!/usr/bin/env python3
"""Perturbs the development part of the independent PII corpus: inside every labelled street
address, capitalized words that are no street type, unit, direction or common word are
replaced, each with probability 0.7, by a surname or a town drawn from datapact's own
lexicons. Labels are shifted to the new offsets. The copy tells which address rules hold only
for the values the development part happens to use.

Usage: pii-perturb.py SEED OUT.jsonl  (reads crates/pii/data/eval-independent/dev.jsonl only;
never the blind part)."""
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "crates/pii/data"
SOURCE = ROOT / "crates/pii/src/names.rs"


def words(name):
    return [
        line.strip()
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and " " not in line.strip()
    ]


def main():
    seed, out_path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(seed)
    surnames = words("surnames_eu.txt") + words("last_names.txt")
    towns = words("cities_eu.txt") + words("cities_geonames.txt")
    keep = {w.lower() for w in words("street_suffixes.txt")}
    keep |= {w.lower() for w in words("common_words.txt") + words("common_words_eu.txt")}
    # The engine's own street types, units and directions stay: they are the shape.
    source = SOURCE.read_text(encoding="utf-8")
    for const in ["PREFIX_STREETS", "UNITS", "UNIT_WORDS", "STREET_WORDS", "DIRECTIONS", "STREET_ADJECTIVES"]:
        m = re.search(r"const " + const + r": &\[&str\] = &\[(.*?)\];", source, re.S)
        if m:
            keep |= {w.lower() for w in re.findall(r'"([^"]+)"', m.group(1))}
    endings = ("straße", "strasse", "straat", "weg", "gracht", "laan", "plein", "kade", "allee",
               "platz", "gasse", "ring", "dijk")
    written = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for line in (DATA / "eval-independent/dev.jsonl").read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            text, spans = doc["text"], doc["spans"]
            edits = []
            for span in (s for s in spans if s["type"] == "STREET_ADDRESS"):
                part = text[span["start"]:span["end"]]
                for m in re.finditer(r"\b[A-ZÀ-Ý][a-zà-ÿß]{2,}\b", part):
                    w = m.group(0).lower()
                    if w in keep or w.endswith(endings) or rng.random() >= 0.7:
                        continue
                    new = rng.choice(towns if rng.random() < 0.5 else surnames)
                    edits.append((span["start"] + m.start(), span["start"] + m.end(), new))
            if not edits:
                continue
            edits.sort()
            pieces, at, shifts = [], 0, []
            for a, b, new in edits:
                pieces += [text[at:a], new]
                shifts.append((b, len(new) - (b - a)))
                at = b
            pieces.append(text[at:])
            moved = lambda x: x + sum(d for b, d in shifts if b <= x)
            doc["text"] = "".join(pieces)
            doc["spans"] = [dict(s, start=moved(s["start"]), end=moved(s["end"])) for s in spans]
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
            written += 1
    print(f"{written} messages with addresses perturbed (seed {seed}) -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
