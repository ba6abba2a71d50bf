"""Validate /tmp/heldout/heldout.jsonl and print per-type counts."""
import hashlib
import json
import re
import sys
from collections import Counter

PATH = sys.argv[1] if len(sys.argv) > 1 else "/tmp/heldout/heldout.jsonl"
TYPES = {"PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
         "IP_ADDRESS", "URL", "DATE_TIME", "US_SSN", "CRYPTO", "UK_NHS", "US_PASSPORT",
         "US_DRIVER_LICENSE", "US_BANK_NUMBER", "MEDICAL_LICENSE", "US_ITIN"}
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def luhn_ok(s):
    ds = [int(c) for c in s if c.isdigit()]
    tot = 0
    for i, d in enumerate(reversed(ds)):
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        tot += d
    return tot % 10 == 0


def card_ok(s):
    if not re.fullmatch(r"[0-9][0-9 -]+[0-9]", s):
        return "bad characters"
    d = re.sub(r"\D", "", s)
    if not 13 <= len(d) <= 19:
        return "bad length"
    if not luhn_ok(d):
        return "Luhn failed"
    ok_prefix = (d[0] == "4" or 51 <= int(d[:2]) <= 55 or d[:2] in ("34", "37") or d.startswith("6011")
                 or 3528 <= int(d[:4]) <= 3589)
    return None if ok_prefix else "unknown issuer prefix"


def iban_ok(s):
    t = s.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", t):
        return "bad format"
    r = t[4:] + t[:4]
    return None if int("".join(str(int(c, 36)) for c in r)) % 97 == 1 else "mod-97 failed"


def ssn_ok(s):
    if not re.fullmatch(r"\d{3}([- ]?)\d{2}\1\d{4}", s):
        return "bad format"
    d = re.sub(r"\D", "", s)
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    if area == 0 or area == 666 or area >= 900:
        return "bad area"
    if group == 0:
        return "bad group"
    if serial == 0:
        return "bad serial"
    return None


def itin_ok(s):
    if not re.fullmatch(r"9\d{2}-\d{2}-\d{4}", s):
        return "bad format"
    g = int(s[4:6])
    return None if (50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99) else "bad group"


def nhs_ok(s):
    d = s.replace(" ", "")
    if not re.fullmatch(r"\d{10}", d):
        return "bad format"
    tot = sum(int(c) * w for c, w in zip(d[:9], range(10, 1, -1)))
    c = 11 - tot % 11
    c = 0 if c == 11 else c
    return None if c != 10 and c == int(d[9]) else "mod-11 failed"


def btc_ok(s):
    if not re.fullmatch(r"[13][%s]{25,34}" % B58, s):
        return "bad format"
    n = 0
    for ch in s:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes(25, "big")
    chk = hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4]
    return None if chk == raw[21:] else "checksum failed"


def dea_ok(s):
    if not re.fullmatch(r"[A-Z]{2}\d{7}", s):
        return "bad format"
    d = [int(c) for c in s[2:]]
    return None if (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6] else "checksum failed"


def ip_ok(s):
    if ":" in s:
        return None if re.fullmatch(r"[0-9a-fA-F:]+", s) and s.count(":") >= 2 else "bad IPv6"
    parts = s.split(".")
    return None if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts) else "bad IPv4"


EXTRA = {"CREDIT_CARD": card_ok, "IBAN_CODE": iban_ok, "US_SSN": ssn_ok, "US_ITIN": itin_ok,
         "UK_NHS": nhs_ok, "CRYPTO": btc_ok, "MEDICAL_LICENSE": dea_ok, "IP_ADDRESS": ip_ok,
         "EMAIL_ADDRESS": lambda s: None if re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", s) else "bad email",
         "URL": lambda s: None if re.match(r"(https?://|www\.)", s) else "URL without scheme/www"}

errors = []
counts = Counter()
n_lines = n_empty = 0
with open(PATH, encoding="utf-8") as fh:
    for ln, line in enumerate(fh, 1):
        n_lines += 1
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {ln}: invalid JSON ({e})")
            continue
        if set(rec) != {"text", "spans"} or not isinstance(rec["text"], str) or not isinstance(rec["spans"], list):
            errors.append(f"line {ln}: wrong keys/types")
            continue
        text, spans = rec["text"], rec["spans"]
        if not spans:
            n_empty += 1
        prev_end = -1
        prev_start = -1
        for sp in spans:
            if set(sp) != {"start", "end", "type"}:
                errors.append(f"line {ln}: bad span keys {sp}")
                continue
            s, e, t = sp["start"], sp["end"], sp["type"]
            if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
                errors.append(f"line {ln}: span out of bounds {sp}")
                continue
            if t not in TYPES:
                errors.append(f"line {ln}: unknown type {t}")
            if s < prev_start:
                errors.append(f"line {ln}: spans not sorted at {sp}")
            if s < prev_end:
                errors.append(f"line {ln}: overlapping span {sp}")
            prev_start, prev_end = s, max(prev_end, e)
            val = text[s:e]
            if val != val.strip():
                errors.append(f"line {ln}: whitespace at span edge {val!r}")
            if t in EXTRA:
                msg = EXTRA[t](val)
                if msg:
                    errors.append(f"line {ln}: {t} {val!r}: {msg}")
            counts[t] += 1

for e in errors:
    print("ERROR", e)
print(f"lines: {n_lines}  (without any span: {n_empty})")
for t in sorted(TYPES, key=lambda x: -counts[x]):
    print(f"  {t:18s} {counts[t]}")
print("total spans:", sum(counts.values()))
print("OK" if not errors and n_lines == 300 else f"FAILED ({len(errors)} errors)")
sys.exit(1 if errors or n_lines != 300 else 0)
