"""Render the hand-written templates into /tmp/heldout/heldout.jsonl with exact spans."""
import json
import random
import re

import templates as T
from values import CITIES, MIDDLE_PEOPLE, PEOPLE, STATES, Factory

SLOT = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*(?:\.[a-z]+)?)\}|\[\[([A-Z_]+):(.+?)\]\]")
N_TOTAL = 300
N_NOPII = 45


class Ctx:
    def __init__(self, rng, fac):
        self.r, self.f = rng, fac
        self.people = {}
        self.used_people = set()
        self.places = {}
        self.used_cities = set()

    def person(self, key):
        if key not in self.people:
            if key == "PM":
                first, mi, last = self.r.choice(MIDDLE_PEOPLE)
                full = f"{first} {mi} {last}"
            else:
                while True:
                    first, last = self.r.choice(PEOPLE)
                    if first not in self.used_people:
                        break
                full = f"{first} {last}"
            self.used_people.add(first)
            self.people[key] = dict(first=first, last=last, full=full,
                                    email=self.f.email_for(first, last),
                                    linkedin=self.f.linkedin_for(first, last))
        return self.people[key]

    def place(self, suffix):
        if suffix not in self.places:
            while True:
                c = self.r.choice(CITIES)
                if c[0] not in self.used_cities:
                    break
            self.used_cities.add(c[0])
            self.places[suffix] = c
        return self.places[suffix]

    def resolve(self, name):
        """Return list of (text, type-or-None) pieces for a slot."""
        f = self.f
        base, _, attr = name.partition(".")
        m = re.fullmatch(r"P\d?|PM", base)
        if m:
            p = self.person(base)
            if attr == "email":
                return [(p["email"], "EMAIL_ADDRESS")]
            if attr == "linkedin":
                return [(p["linkedin"], "URL")]
            val = {"": p["full"], "first": p["first"], "last": p["last"],
                   "lower": p["full"].lower(), "flower": p["first"].lower()}[attr]
            return [(val, "PERSON")]
        m = re.fullmatch(r"(CITY|COUNTRY)(\d?)", base)
        if m:
            city, country = self.place(m.group(2))
            val = city if m.group(1) == "CITY" else country
            if attr == "lower":
                val = val.lower()
            if val.lower().startswith("the "):
                return [(val[:4], None), (val[4:], "LOCATION")]
            return [(val, "LOCATION")]
        table = {
            "STATE": (lambda: self.r.choice(STATES), "LOCATION"),
            "PHONE": (f.phone_any, "PHONE_NUMBER"), "PHONE_US": (f.phone_us, "PHONE_NUMBER"),
            "PHONE_CA": (lambda: f.phone_us(ca=True), "PHONE_NUMBER"), "PHONE_UK": (f.phone_uk, "PHONE_NUMBER"),
            "PHONE_DE": (f.phone_de, "PHONE_NUMBER"), "PHONE_FR": (f.phone_fr, "PHONE_NUMBER"),
            "PHONE_IN": (f.phone_in, "PHONE_NUMBER"), "PHONE_AU": (f.phone_au, "PHONE_NUMBER"),
            "ADDR": (f.addr_any, "LOCATION"), "ADDR_US": (f.addr_us, "LOCATION"), "ADDR_UK": (f.addr_uk, "LOCATION"),
            "ADDR_CA": (f.addr_ca, "LOCATION"), "ADDR_DE": (f.addr_de, "LOCATION"), "ADDR_FR": (f.addr_fr, "LOCATION"),
            "ADDR_AU": (f.addr_au, "LOCATION"),
            "CARD": (f.card, "CREDIT_CARD"), "CARD_PLAIN": (lambda: f.card(fmt=0), "CREDIT_CARD"),
            "CARD_VISA": (lambda: f.card("visa"), "CREDIT_CARD"), "CARD_MC": (lambda: f.card("mc"), "CREDIT_CARD"),
            "CARD_AMEX": (lambda: f.card("amex"), "CREDIT_CARD"),
            "IBAN": (f.iban, "IBAN_CODE"), "IBAN_PLAIN": (lambda: f.iban(spaced=False), "IBAN_CODE"),
            "IBAN_DE": (lambda: f.iban("DE"), "IBAN_CODE"), "IBAN_GB": (lambda: f.iban("GB"), "IBAN_CODE"),
            "SSN": (f.ssn, "US_SSN"), "ITIN": (f.itin, "US_ITIN"), "BANKACCT": (f.bank_acct, "US_BANK_NUMBER"),
            "PASSPORT": (f.passport, "US_PASSPORT"), "DL": (f.driver_license, "US_DRIVER_LICENSE"),
            "DEA": (f.dea, "MEDICAL_LICENSE"), "NHS": (f.nhs, "UK_NHS"), "BTC": (f.btc, "CRYPTO"),
            "IP4": (f.ipv4, "IP_ADDRESS"), "IP6": (f.ipv6, "IP_ADDRESS"), "URL": (f.url, "URL"),
            "DATE": (f.date, "DATE_TIME"), "DOB": (f.dob, "DATE_TIME"),
            "DOB_DE": (lambda: f.dob(style=4), "DATE_TIME"), "DOB_ISO": (lambda: f.dob(style=1), "DATE_TIME"),
            "DOB_FR": (lambda: f.dob(style=6), "DATE_TIME"),
            "DATE_DE": (lambda: f.date(style=4), "DATE_TIME"), "DT": (f.datetime, "DATE_TIME"),
            "TS": (f.ts, "DATE_TIME"), "APACHE_TS": (f.apache_ts, "DATE_TIME"),
            "SYSLOG_TS": (f.syslog_ts, "DATE_TIME"),
            "APACHE_TS_BARE": (lambda: f.ts()[:19].replace("-", "/").replace("T", " "), "DATE_TIME"),
            # decoys
            "ORDER": (f.order, None), "INVOICE": (f.invoice, None), "TRACK": (f.track, None),
            "SKU": (f.sku, None), "VER": (f.version, None), "TICKET": (f.ticket, None), "CASE": (f.case, None),
            "AMOUNT": (f.amount, None), "LAST4": (lambda: f.d(4), None), "NUM": (f.num_amount, None),
            "DIGITS4": (lambda: f.d(4), None), "DIGITS5": (lambda: f.d(5), None),
        }
        fn, typ = table[base]
        return [(fn(), typ)]


def render(tpl, rng, fac):
    ctx = Ctx(rng, fac)
    out, spans, pos = [], [], 0
    i = 0
    for m in SLOT.finditer(tpl):
        lit = tpl[i:m.start()]
        out.append(lit)
        pos += len(lit)
        if m.group(1):
            pieces = ctx.resolve(m.group(1))
        else:
            pieces = [(rng.choice(m.group(3).split("|")), m.group(2))]
        for text, typ in pieces:
            if typ:
                spans.append({"start": pos, "end": pos + len(text), "type": typ})
            out.append(text)
            pos += len(text)
        i = m.end()
    out.append(tpl[i:])
    text = "".join(out)
    # trim trailing spaces that templates leave before closing quotes
    text = text.rstrip()
    return text, spans


def main():
    rng = random.Random(20240611)
    fac = Factory(rng)
    pii_cats = [T.EMAILS, T.TICKETS, T.CHATS, T.FORMS, T.SHIPPING, T.MEETINGS, T.LOGS]
    n_pii = N_TOTAL - N_NOPII
    per_cat = [n_pii // len(pii_cats)] * len(pii_cats)
    for k in range(n_pii - sum(per_cat)):
        per_cat[k] += 1
    records = []
    for cat, n in zip(pii_cats, per_cat):
        # every template once; extra uses go preferentially to templates that
        # carry the rarer entity types (cards, IBANs, SSNs, IPs)
        order = list(cat)
        rng.shuffle(order)
        rare = re.compile(r"\{(CARD|IBAN|SSN|IP|ITIN|URL)")
        ranked = sorted(cat, key=lambda t: (-len(rare.findall(t)), rng.random()))
        while len(order) < n:
            order.extend(ranked[: n - len(order)])
        for tpl in order[:n]:
            text, spans = render(tpl, rng, fac)
            records.append({"text": text, "spans": spans})
    nopii = list(T.NO_PII)
    rng.shuffle(nopii)
    for tpl in nopii[:N_NOPII]:
        text, spans = render(tpl, rng, fac)
        assert not spans, tpl
        records.append({"text": text, "spans": spans})
    rng.shuffle(records)
    with open("/tmp/heldout/heldout.jsonl", "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(len(records), "records")


if __name__ == "__main__":
    main()
