# -*- coding: utf-8 -*-
"""Verify dev.jsonl and blind.jsonl.

    python3 check.py

Checks: JSON shape, offsets, no overlapping spans, decoys never overlap spans,
every message has a decoy, text[start:end] equals the value that was inserted
(the corpus is regenerated from the seed and compared value by value and line
by line), format validity of every labelled value (Luhn, IBAN mod 97, SSN
ranges, vendor key shapes, JWT header, PEM armour, ...). Prints counts per type,
language and kind, and the share of messages without spans.
"""

import base64
import collections
import ipaddress
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_corpus  # noqa: E402
import values as V  # noqa: E402

LANGS = {"en", "de", "fr", "es", "it", "nl", "pt"}
KINDS = {"email", "ticket", "chat", "log", "csv", "form", "notes", "shipping", "dev"}
PII_TYPES = {"PERSON", "LOCATION", "STREET_ADDRESS", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD",
             "DATE_TIME", "IP_ADDRESS", "URL", "US_SSN"}
SECRET_TYPES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GCP_API_KEY", "AZURE_CONNECTION_STRING", "GITHUB_TOKEN",
                "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PRIVATE_KEY", "JWT",
                "PASSWORD", "DB_CONNECTION_STRING", "GENERIC_SECRET"}
TYPES = PII_TYPES | SECRET_TYPES

# "M. " and "D. " are left out on purpose: they are also initials ("M. Picard").
HONORIFIC_PREFIXES = ("Mr ", "Mr. ", "Mrs ", "Mrs. ", "Ms ", "Ms. ", "Dr ", "Dr. ", "Prof", "Herr ", "Frau ", "Mme ",
                      "Madame ", "Monsieur ", "Sr. ", "Sra. ", "Dña. ", "Sig.", "Dott.", "Dhr.", "Mevr.", "Sr.ª",
                      "Miss ", "meneer ", "mevrouw ", "Ing. ", "Avv. ", "Dra. ", "Mw. ")

FORMAT = {
    "AWS_ACCESS_KEY_ID": re.compile(r"^(AKIA|ASIA)[A-Z2-7]{16}$"),
    "AWS_SECRET_ACCESS_KEY": re.compile(r"^[A-Za-z0-9/+]{40}$"),
    "GCP_API_KEY": re.compile(r"^AIza[0-9A-Za-z_-]{35}$"),
    "AZURE_CONNECTION_STRING": re.compile(r"^(DefaultEndpointsProtocol=https;AccountName=[a-z0-9]{3,24};AccountKey=[A-Za-z0-9+/]{86}==;EndpointSuffix=core\.windows\.net"
                                          r"|Endpoint=sb://[a-z0-9-]+\.servicebus\.windows\.net/;SharedAccessKeyName=[A-Za-z-]+;SharedAccessKey=[A-Za-z0-9+/]{43}=(;EntityPath=[a-z-]+)?)$"),
    "GITHUB_TOKEN": re.compile(r"^(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})$"),
    "GITLAB_TOKEN": re.compile(r"^glpat-[A-Za-z0-9_-]{20}$"),
    "SLACK_TOKEN": re.compile(r"^(xoxb-\d{10,13}-\d{10,13}-[A-Za-z0-9]{24}|xoxp-\d{10,13}-\d{10,13}-\d{10,13}-[a-f0-9]{32}"
                              r"|xapp-1-A[A-Z0-9]{10}-\d{13}-[a-f0-9]{64}|https://hooks\.slack\.com/services/T[A-Z0-9]{8,10}/B[A-Z0-9]{8,10}/[A-Za-z0-9]{24})$"),
    "STRIPE_KEY": re.compile(r"^((sk|rk)_(live|test)_[A-Za-z0-9]{24,99}|whsec_[A-Za-z0-9]{32,})$"),
    "OPENAI_API_KEY": re.compile(r"^(sk-proj-[A-Za-z0-9_-]{74}T3BlbkFJ[A-Za-z0-9_-]{74}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})$"),
    "ANTHROPIC_API_KEY": re.compile(r"^sk-ant-api03-[A-Za-z0-9_-]{93}AA$"),
    "DB_CONNECTION_STRING": re.compile(r"^((postgres|postgresql|mysql|mysql\+pymysql|mariadb|mongodb\+srv|redis|rediss)://[^\s:@/]*:[^\s@]+@\S+"
                                       r"|jdbc:\w+://\S*password=\S+|(Server|Data Source)=[^\n]*;(User I[dD]|User ID)=[^;]+;Password=[^;]+;?.*)$"),
    "EMAIL_ADDRESS": re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"),
    "URL": re.compile(r"^https://(www\.)?(linkedin\.com/in|github\.com|instagram\.com|xing\.com/profile)/\S+$"),
    "US_SSN": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def validate_value(t, v):
    """Return an error string or None."""
    if t in FORMAT and not FORMAT[t].match(v):
        return f"format mismatch for {t}: {v[:80]!r}"
    if t == "CREDIT_CARD" and not V.luhn_ok(v):
        return f"Luhn failure: {v}"
    if t == "IBAN_CODE" and not V.iban_valid(v):
        return f"IBAN checksum failure: {v}"
    if t == "US_SSN" and not V.ssn_valid(v):
        return f"SSN out of valid ranges: {v}"
    if t == "IP_ADDRESS":
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return f"bad IP: {v}"
    if t == "JWT":
        parts = v.split(".")
        if len(parts) != 3:
            return "JWT without three parts"
        try:
            hdr = json.loads(b64url_decode(parts[0]))
            json.loads(b64url_decode(parts[1]))
        except Exception as e:  # noqa: BLE001
            return f"JWT does not decode: {e}"
        if "alg" not in hdr:
            return "JWT header without alg"
    if t == "PRIVATE_KEY":
        m = re.match(r"^-----BEGIN ((?:RSA |EC |OPENSSH )?PRIVATE KEY)-----(\n|\\n)(.*)(\n|\\n)-----END \1-----$", v, re.S)
        if not m:
            return "PEM armour mismatch"
        body = m.group(3).replace("\\n", "").replace("\n", "")
        try:
            base64.b64decode(body, validate=True)
        except Exception:  # noqa: BLE001
            return "PEM body is not base64"
    if t == "PERSON":
        if v.startswith(HONORIFIC_PREFIXES):
            return f"PERSON starts with an honorific: {v!r}"
        if any(c.isdigit() for c in v):
            return f"PERSON contains digits: {v!r}"
    if t == "PHONE_NUMBER":
        n = sum(c.isdigit() for c in v)
        if not 7 <= n <= 15:
            return f"phone digit count {n}: {v}"
    if t == "PASSWORD":
        if any(c.isspace() for c in v) or not v:
            return f"bad password {v!r}"
    if t == "DATE_TIME" and not any(c.isdigit() for c in v):
        return f"birth date without digits: {v!r}"
    return None


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main():
    errors = []
    files = {"dev": os.path.join(HERE, "dev.jsonl"), "blind": os.path.join(HERE, "blind.jsonl")}
    data = {k: load(p) for k, p in files.items()}

    # regenerate and compare (determinism + inserted values)
    regen_dev, regen_blind = make_corpus.build()
    regen = {"dev": regen_dev, "blind": regen_blind}
    for split in files:
        if len(regen[split]) != len(data[split]):
            errors.append(f"{split}: regenerated {len(regen[split])} records but file has {len(data[split])}")
            continue
        for got, rec in zip(data[split], regen[split]):
            if got != make_corpus.public(rec):
                errors.append(f"{split}:{got.get('id')}: file differs from regeneration (not deterministic or edited)")
            text = got["text"]
            for sp, val in zip(got["spans"], rec["_values"]):
                if text[sp["start"]:sp["end"]] != val:
                    errors.append(f"{got['id']}: span text {text[sp['start']:sp['end']]!r} != inserted value {val!r}")
            if len(got["spans"]) != len(rec["_values"]):
                errors.append(f"{got['id']}: span/value count mismatch")

    ids = set()
    type_counts = collections.Counter()
    type_by_lang = collections.defaultdict(collections.Counter)
    lang_counts = collections.Counter()
    kind_counts = collections.Counter()
    decoy_counts = collections.Counter()
    no_span = 0
    no_span_by_lang = collections.Counter()
    total = 0
    split_counts = {}
    for split, recs in data.items():
        split_counts[split] = len(recs)
        for rec in recs:
            total += 1
            rid = rec.get("id")
            if set(rec) != {"id", "lang", "kind", "text", "spans", "decoys"}:
                errors.append(f"{rid}: unexpected keys {sorted(rec)}")
            if rid in ids:
                errors.append(f"duplicate id {rid}")
            ids.add(rid)
            if rec["lang"] not in LANGS:
                errors.append(f"{rid}: bad lang {rec['lang']}")
            if rec["kind"] not in KINDS:
                errors.append(f"{rid}: bad kind {rec['kind']}")
            text = rec["text"]
            n = len(text)
            lang_counts[rec["lang"]] += 1
            kind_counts[rec["kind"]] += 1
            spans = rec["spans"]
            decoys = rec["decoys"]
            for coll, lab in ((spans, "span"), (decoys, "decoy")):
                for s in coll:
                    if not (isinstance(s["start"], int) and isinstance(s["end"], int) and 0 <= s["start"] < s["end"] <= n):
                        errors.append(f"{rid}: bad {lab} offsets {s}")
            ss = sorted(spans, key=lambda s: s["start"])
            for a, b in zip(ss, ss[1:]):
                if a["end"] > b["start"]:
                    errors.append(f"{rid}: overlapping spans {a} {b}")
            dd = sorted(decoys, key=lambda s: s["start"])
            for a, b in zip(dd, dd[1:]):
                if a["end"] > b["start"]:
                    errors.append(f"{rid}: overlapping decoys {a} {b}")
            for d in decoys:
                for s in spans:
                    if d["start"] < s["end"] and s["start"] < d["end"]:
                        errors.append(f"{rid}: decoy {d} overlaps span {s}")
                if not d.get("kind"):
                    errors.append(f"{rid}: decoy without kind")
                decoy_counts[d["kind"]] += 1
                dv = text[d["start"]:d["end"]]
                if dv != dv.strip():
                    errors.append(f"{rid}: decoy with surrounding whitespace {dv!r}")
                if d["kind"] == "stripe_publishable_key" and not re.match(r"^pk_(live|test)_[A-Za-z0-9]{24,99}$", dv):
                    errors.append(f"{rid}: bad publishable key decoy {dv}")
            if not decoys:
                errors.append(f"{rid}: message without decoy")
            if not spans:
                no_span += 1
                no_span_by_lang[rec["lang"]] += 1
            for s in spans:
                t = s["type"]
                if t not in TYPES:
                    errors.append(f"{rid}: unknown type {t}")
                    continue
                v = text[s["start"]:s["end"]]
                if v != v.strip():
                    errors.append(f"{rid}: span with surrounding whitespace {v!r}")
                err = validate_value(t, v)
                if err:
                    errors.append(f"{rid}: {err}")
                type_counts[t] += 1
                type_by_lang[t][rec["lang"]] += 1
            if rec["kind"] != "dev" and any(s["type"] in SECRET_TYPES for s in spans):
                errors.append(f"{rid}: secret outside a developer message")

    share = no_span / total if total else 0
    if share < 0.25:
        errors.append(f"share of messages without spans is {share:.1%} (< 25%)")
    split_share = {}
    for split, recs in data.items():
        split_share[split] = sum(1 for r in recs if not r["spans"]) / len(recs)
        if split_share[split] < 0.25:
            errors.append(f"{split}: share of messages without spans is {split_share[split]:.1%} (< 25%)")

    langs = sorted(LANGS)
    print(f"messages: {total}  (dev {split_counts['dev']}, blind {split_counts['blind']})")
    print(f"messages without spans: {no_span} ({share:.1%}; dev {split_share['dev']:.1%}, blind {split_share['blind']:.1%})")
    print()
    print("per language:      " + "  ".join(f"{l}={lang_counts[l]}" for l in langs))
    print("no spans per lang: " + "  ".join(f"{l}={no_span_by_lang[l]}" for l in langs))
    print("per kind:          " + "  ".join(f"{k}={kind_counts[k]}" for k in sorted(KINDS)))
    print(f"developer share:   {kind_counts['dev'] / total:.1%}")
    print()
    print(f"{'type':26s} {'total':>6s} " + " ".join(f"{l:>5s}" for l in langs))
    for t in sorted(TYPES, key=lambda t: (t not in PII_TYPES, -type_counts[t], t)):
        print(f"{t:26s} {type_counts[t]:6d} " + " ".join(f"{type_by_lang[t][l]:5d}" for l in langs))
    print()
    print("decoys per kind:")
    for k, c in decoy_counts.most_common():
        print(f"  {k:26s} {c:6d}")
    print()
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors[:60]:
            print("  " + e)
        sys.exit(1)
    print("OK: all checks passed")


if __name__ == "__main__":
    main()
