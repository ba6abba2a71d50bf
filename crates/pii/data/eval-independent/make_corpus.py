# -*- coding: utf-8 -*-
"""Build the independent PII/secrets evaluation corpus.

    python3 make_corpus.py          # writes dev.jsonl and blind.jsonl

Deterministic: one fixed seed, python3 standard library only.

Templates (carriers.py) contain slots written as  ⟦...⟧ :

    ⟦p1.full⟧  ⟦p1.given⟧  ⟦p1.family⟧  ⟦p1.fam⟧    person p1 (PERSON span)
    ⟦p1.lower⟧ ⟦p1.glower⟧ ⟦p1.init⟧ ⟦p1.gFAM⟧     other written forms (PERSON)
    ⟦p1.email⟧ ⟦p1.cemail⟧                          e-mail (EMAIL_ADDRESS)
    ⟦p1.url⟧                                        profile URL (URL)
    ⟦p1.hon⟧                                        honorific, NOT labelled
    ⟦p1.g:male text¦female text⟧                    gender agreement, NOT labelled
    ⟦p2@de.full⟧                                    person drawn from another language
    ⟦addr⟧ ⟦addr1⟧ ⟦addrml⟧ ⟦street⟧                STREET_ADDRESS
    ⟦addrc⟧ ⟦addrmlc⟧                               address + separate country (LOCATION)
    ⟦city⟧ ⟦region⟧ ⟦country⟧                       LOCATION      (@cc / @any selects country)
    ⟦phone⟧ ⟦iban⟧ ⟦cc⟧ ⟦dob⟧ ⟦ip⟧ ⟦ipp⟧ ⟦ipv6⟧ ⟦ssn⟧
    ⟦aws_akid⟧ ⟦pw⟧ ⟦db_pg⟧ ...                     secrets, see SECRETS below
    ⟦d.kind⟧ ⟦d.kind/arg⟧ ⟦d.kind=literal⟧           decoys
    ⟦L:key⟧                                         localized phrase (may contain slots)
    ⟦%a¦b¦c⟧                                        plain random choice, NOT labelled
    ⟦jobtitle⟧                                      plain job title, NOT labelled
    suffix  #k  memoizes a slot value inside one message, suffix |lower |upper changes case
"""

import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import values as V  # noqa: E402
import carriers as CR  # noqa: E402

SEED = 20250311
N_PER_LANG = {"en": 342, "de": 343, "fr": 343, "es": 343, "it": 343, "nl": 343, "pt": 343}
N_DEV_PER_LANG = {"en": 200, "de": 47, "fr": 47, "es": 47, "it": 47, "nl": 47, "pt": 47}
P_CLEAN = {"lang": 0.30, "dev": 0.24}
N_DEV_SPLIT = 1600

SLOT_RE = re.compile("⟦([^⟧]+)⟧")
PERSON_RE = re.compile(r"^(p\d+)(?:@(\w+))?\.(.+)$")


def S(t):
    return ("S", t)


def D(k):
    return ("D", k)


SECRETS = {
    "aws_akid": (lambda r: V.aws_access_key_id(r), "AWS_ACCESS_KEY_ID"),
    "aws_asia": (lambda r: V.aws_access_key_id(r, True), "AWS_ACCESS_KEY_ID"),
    "aws_secret": (V.aws_secret_access_key, "AWS_SECRET_ACCESS_KEY"),
    "gcp_key": (V.gcp_api_key, "GCP_API_KEY"),
    "azure_storage": (V.azure_storage_conn, "AZURE_CONNECTION_STRING"),
    "azure_sb": (V.azure_servicebus_conn, "AZURE_CONNECTION_STRING"),
    "gh_token": (lambda r: V.github_token(r), "GITHUB_TOKEN"),
    "ghp": (lambda r: V.github_token(r, "ghp_"), "GITHUB_TOKEN"),
    "ghs": (lambda r: V.github_token(r, "ghs_"), "GITHUB_TOKEN"),
    "gho": (lambda r: V.github_token(r, "gho_"), "GITHUB_TOKEN"),
    "gh_fine": (V.github_fine_grained, "GITHUB_TOKEN"),
    "gl_token": (V.gitlab_token, "GITLAB_TOKEN"),
    "slack_bot": (V.slack_bot, "SLACK_TOKEN"),
    "slack_user": (V.slack_user, "SLACK_TOKEN"),
    "slack_app": (V.slack_app, "SLACK_TOKEN"),
    "slack_hook": (V.slack_webhook, "SLACK_TOKEN"),
    "stripe_sk": (lambda r: V.stripe_secret(r), "STRIPE_KEY"),
    "stripe_live": (lambda r: V.stripe_secret(r, "sk_live_"), "STRIPE_KEY"),
    "stripe_test": (lambda r: V.stripe_secret(r, "sk_test_"), "STRIPE_KEY"),
    "stripe_rk": (lambda r: V.stripe_secret(r, "rk_live_"), "STRIPE_KEY"),
    "stripe_whsec": (V.stripe_whsec, "STRIPE_KEY"),
    "openai": (lambda r: V.openai_project_key(r) if r.random() < 0.65 else V.openai_legacy_key(r), "OPENAI_API_KEY"),
    "openai_proj": (V.openai_project_key, "OPENAI_API_KEY"),
    "openai_legacy": (V.openai_legacy_key, "OPENAI_API_KEY"),
    "anthropic": (V.anthropic_key, "ANTHROPIC_API_KEY"),
    "pem_rsa": (V.pem_rsa, "PRIVATE_KEY"),
    "pem_ec": (V.pem_ec, "PRIVATE_KEY"),
    "pem_openssh": (V.pem_openssh, "PRIVATE_KEY"),
    "pem_pkcs8": (V.pem_pkcs8, "PRIVATE_KEY"),
    "pem": (lambda r: r.choice([V.pem_rsa, V.pem_ec, V.pem_openssh, V.pem_pkcs8])(r), "PRIVATE_KEY"),
    "pem_json": (V.pem_json_escaped, "PRIVATE_KEY"),
    "jwt": (V.jwt, "JWT"),
    "pw": (lambda r: V.password(r), "PASSWORD"),
    "pw_human": (V.password_human, "PASSWORD"),
    "pw_rand": (lambda r: V.password_random(r), "PASSWORD"),
    "pw_safe": (lambda r: V.password(r, safe=True) if r.random() < 0.5 else V.password_url(r), "PASSWORD"),
    "pw_url": (V.password_url, "PASSWORD"),
    "db": (lambda r: V.db_connection_string(r), "DB_CONNECTION_STRING"),
    "db_pg": (lambda r: V.db_connection_string(r, "pg"), "DB_CONNECTION_STRING"),
    "db_mysql": (lambda r: V.db_connection_string(r, "mysql"), "DB_CONNECTION_STRING"),
    "db_mongo": (lambda r: V.db_connection_string(r, "mongo"), "DB_CONNECTION_STRING"),
    "db_redis": (lambda r: V.db_connection_string(r, "redis"), "DB_CONNECTION_STRING"),
    "db_jdbc": (lambda r: V.db_connection_string(r, "jdbc"), "DB_CONNECTION_STRING"),
    "db_ado": (lambda r: V.db_connection_string(r, "ado"), "DB_CONNECTION_STRING"),
    "generic": (V.generic_secret, "GENERIC_SECRET"),
    "generic_hex": (lambda r: V.rstr(r, V.HEX, r.choice([32, 40, 64])), "GENERIC_SECRET"),
    "django_key": (V.django_secret_key, "GENERIC_SECRET"),
}

# decoy slots written with a literal value: ⟦d.kind=literal⟧
LITERAL_DECOY_KINDS = {
    "ph": "placeholder", "product": "product_name", "org": "organization", "status": "http_status",
    "port": "port", "version": "version", "errcode": "error_code", "qty": "quantity", "url": "url",
    "date": "date", "model": "model_number", "line": "line_number",
}


class Person:
    def __init__(self, rng, lang):
        self.lang = lang
        self.gender = rng.choice("fm")
        given = rng.choice(V.GIVEN[lang][self.gender])
        if lang == "pt" and " " not in given and rng.random() < 0.2:
            g2 = rng.choice(V.GIVEN[lang][self.gender])
            if g2 != given and " " not in g2:
                given = f"{given} {g2}"
        while True:
            fam = rng.choice(V.FAMILY[lang])
            if self.gender == "m" and fam.startswith("Ní "):
                continue
            break
        if lang == "es" and " " not in fam and rng.random() < 0.7:
            f2 = rng.choice(V.FAMILY["es"])
            if f2 != fam:
                fam = f"{fam} {f2}"
        elif lang == "pt" and rng.random() < 0.5:
            f1 = rng.choice(V.FAMILY["pt"])
            if f1 != fam:
                fam = f"{f1} {fam}"
        elif lang in ("de", "fr", "nl", "en") and " " not in fam and "-" not in fam and rng.random() < 0.04:
            f2 = rng.choice(V.FAMILY[lang])
            if " " not in f2 and "-" not in f2 and f2 != fam:
                fam = f"{fam}-{f2}"
        self.mid = f"{rng.choice('ABCDEFGHJKLMNPRSTW')}." if lang == "en" and rng.random() < 0.1 else None
        self.given = given
        self.family = fam
        self._email = None
        self._cemail = None
        self._url = None
        self._hon = None

    @property
    def full(self):
        return " ".join(x for x in (self.given, self.mid, self.family) if x)

    def fam_alone(self):
        f = self.family
        if self.lang == "nl" and f[:1].islower() and f.startswith(V.NL_PARTICLES):
            return f[0].upper() + f[1:]
        return f


class Message:
    def __init__(self, rng, lang, kind, country=None):
        self.rng = rng
        self.lang = lang
        self.kind = kind
        self.country = country or V.wchoice(rng, V.LANG_COUNTRIES[lang])
        self.persons = {}
        self.memo = {}
        self.shared = {}

    # ------------------------------------------------------------------
    def render(self, tpl):
        pieces = []
        pos = 0
        for m in SLOT_RE.finditer(tpl):
            pieces.append((tpl[pos:m.start()], None))
            pieces.extend(self.slot(m.group(1)))
            pos = m.end()
        pieces.append((tpl[pos:], None))
        return pieces

    def resolve_cc(self, cc):
        if cc is None:
            return self.country
        if cc == "any":
            choices = sorted(k for k in V.ADDRESS_FUNCS if k != self.country)
            return self.rng.choice(choices)
        return cc

    def person(self, key, plang):
        if key not in self.persons:
            if plang is None:
                plang = self.lang
                if self.rng.random() < 0.08:
                    plang = self.rng.choice([x for x in V.LANGS if x != self.lang])
            self.persons[key] = Person(self.rng, plang)
        return self.persons[key]

    def person_slot(self, key, plang, attr):
        r = self.rng
        p = self.person(key, plang)
        P = S("PERSON")
        if attr.startswith("g:"):
            m, f = attr[2:].split("¦")
            return [(m if p.gender == "m" else f, None)]
        if attr == "full":
            return [(p.full, P)]
        if attr == "given":
            return [(p.given, P)]
        if attr == "family":
            return [(p.family, P)]
        if attr == "fam":
            return [(p.fam_alone(), P)]
        if attr == "lower":
            return [(p.full.lower(), P)]
        if attr == "glower":
            return [(p.given.lower(), P)]
        if attr == "init":
            return [(f"{p.given[0]}. {p.family}", P)]
        if attr == "gFAM":
            return [(f"{p.given} {p.family.upper()}", P)]
        if attr == "email":
            if p._email is None:
                p._email = V.email_for(r, p.given, p.family, self.lang)
            return [(p._email, S("EMAIL_ADDRESS"))]
        if attr == "cemail":
            if p._cemail is None:
                p._cemail = V.email_for(r, p.given, p.family, self.lang, company=True)
            return [(p._cemail, S("EMAIL_ADDRESS"))]
        if attr == "url":
            if p._url is None:
                p._url = V.profile_url(r, p.given, p.family, p.lang)
            return [(p._url, S("URL"))]
        if attr == "job":
            return [(r.choice(V.JOB_TITLES_G[self.lang][p.gender]), None)]
        if attr == "hon":
            if p._hon is None:
                p._hon = r.choice(V.HONORIFICS[self.lang][p.gender])
            return [(p._hon, None)]
        raise KeyError(f"person attribute {attr}")

    def generic_slot(self, name, cc):
        r = self.rng
        if name in ("addr", "addr1", "addrml", "street", "addrc", "addrmlc"):
            cc = self.resolve_cc(cc)
            style = {"addr": r.choice(["one", "ml"]), "addr1": "one", "addrml": "ml", "street": "street",
                     "addrc": "one", "addrmlc": "ml"}[name]
            text, city = V.ADDRESS_FUNCS[cc](r, style)
            self.shared["last_city"] = city
            out = [(text, S("STREET_ADDRESS"))]
            if name in ("addrc", "addrmlc"):
                out.append((", " if style == "one" else "\n", None))
                out.append((V.COUNTRY_NAMES[V.iso_of(cc)][self.lang], S("LOCATION")))
            return out
        if name == "lastcity":
            return [(self.shared["last_city"], S("LOCATION"))]
        if name == "city":
            cc = self.resolve_cc(cc)
            return [(r.choice(V.cities_for(cc)), S("LOCATION"))]
        if name == "region":
            cc = self.resolve_cc(cc)
            regs = V.REGIONS.get(cc) or V.REGIONS[V.iso_of(cc)]
            return [(r.choice(regs), S("LOCATION"))]
        if name == "country":
            cc = self.resolve_cc(cc)
            return [(V.COUNTRY_NAMES[V.iso_of(cc)][self.lang], S("LOCATION"))]
        if name == "phone":
            return [(V.phone(r, self.resolve_cc(cc)), S("PHONE_NUMBER"))]
        if name == "iban":
            cc = self.resolve_cc(cc)
            if cc in ("us", "au", "in", "jp"):
                cc = "gb"
            return [(V.iban(r, cc), S("IBAN_CODE"))]
        if name == "cc":
            return [(V.credit_card(r), S("CREDIT_CARD"))]
        if name == "dob":
            return [(V.dob(r, self.lang), S("DATE_TIME"))]
        if name == "ip":
            return [(V.ip_public(r), S("IP_ADDRESS"))]
        if name == "ipp":
            return [(V.ip_private(r), S("IP_ADDRESS"))]
        if name == "ipv6":
            return [(V.ipv6(r), S("IP_ADDRESS"))]
        if name == "ssn":
            return [(V.ssn(r), S("US_SSN"))]
        if name == "jobtitle":
            return [(r.choice(V.JOB_TITLES[self.lang]), None)]
        if name == "gcp_project":
            if "gcp_project" not in self.shared:
                self.shared["gcp_project"] = f"{r.choice(['shop', 'billing', 'analytics', 'crm', 'data'])}-{r.choice(['prod', 'staging', 'dev'])}-{V.digits(r, 6)}"
            return [(self.shared["gcp_project"], None)]
        if name in ("sa_email", "sa_email_enc"):
            if "sa_email" not in self.shared:
                self.generic_slot("gcp_project", None)
                self.shared["sa_email"] = f"{r.choice(['deploy-bot', 'ci-runner', 'bq-export', 'terraform', 'app-backend'])}@{self.shared['gcp_project']}.iam.gserviceaccount.com"
            if name == "sa_email":
                return [(self.shared["sa_email"], S("EMAIL_ADDRESS"))]
            return [(self.shared["sa_email"].replace("@", "%40"), None)]
        if name in SECRETS:
            fn, t = SECRETS[name]
            return [(fn(r), S(t))]
        raise KeyError(f"unknown slot {name}")

    def slot(self, expr):
        r = self.rng
        if expr.startswith("%"):
            return [(r.choice(expr[1:].split("¦")), None)]
        if expr.startswith("d.") and "=" in expr:
            kind, lit = expr[2:].split("=", 1)
            return [(lit, D(LITERAL_DECOY_KINDS.get(kind, kind)))]
        mods = expr.split("|")
        base = mods[0]
        mods = mods[1:]
        memo_key = None
        if "#" in base:
            base, memo_key = base.split("#", 1)
            memo_key = base + "#" + memo_key
        if memo_key and memo_key in self.memo:
            pieces = list(self.memo[memo_key])
        else:
            pm = PERSON_RE.match(base)
            if pm:
                pieces = self.person_slot(pm.group(1), pm.group(2), pm.group(3))
            elif base.startswith("d."):
                spec = base[2:]
                arg = None
                if "/" in spec:
                    spec, arg = spec.split("/", 1)
                txt, kind = V.decoy(r, spec, self.lang, arg)
                pieces = [(txt, D(kind))]
            elif base.startswith("L:"):
                opts = CR.PHRASES[base[2:]][self.lang]
                pieces = self.render(r.choice(opts))
            else:
                cc = None
                if "@" in base:
                    base, cc = base.split("@", 1)
                pieces = self.generic_slot(base, cc)
            if memo_key:
                self.memo[memo_key] = list(pieces)
        for m in mods:
            if m == "lower":
                pieces = [(t.lower(), lab) for t, lab in pieces]
            elif m == "upper":
                pieces = [(t.upper(), lab) for t, lab in pieces]
            else:
                raise KeyError(f"modifier {m}")
        return pieces


def assemble(pieces):
    text = []
    n = 0
    spans, decoys, values = [], [], []
    for t, lab in pieces:
        if not t:
            continue
        start = n
        text.append(t)
        n += len(t)
        if lab is None:
            continue
        if t != t.strip():
            raise ValueError(f"labelled value with surrounding whitespace: {t!r}")
        if lab[0] == "S":
            spans.append({"start": start, "end": n, "type": lab[1]})
            values.append(t)
        else:
            decoys.append({"start": start, "end": n, "kind": lab[1]})
    return "".join(text), spans, decoys, values


def make_message(rng, lang, carrier):
    msg = Message(rng, lang, carrier["kind"], carrier.get("country"))
    pieces = msg.render(carrier["text"])
    text, spans, decoys, values = assemble(pieces)
    if carrier["clean"] and spans:
        raise ValueError(f"clean carrier produced spans: {carrier['name']}")
    if not decoys:
        raise ValueError(f"carrier without decoy: {carrier['name']}")
    return {"lang": lang, "kind": carrier["kind"], "text": text, "spans": spans, "decoys": decoys}, values


class Cycler:
    """Hand out carriers in shuffled rounds so every carrier is used evenly."""

    def __init__(self, rng, items):
        self.rng = rng
        self.items = list(items)
        self.queue = []

    def next(self):
        if not self.queue:
            # carriers written for one language (priority) come first in every round
            rest = [c for c in self.items if not c.get("priority")]
            first = [c for c in self.items if c.get("priority")]
            self.rng.shuffle(rest)
            self.rng.shuffle(first)
            self.queue = rest + first
        return self.queue.pop()


def build(seed=SEED):
    rng = random.Random(seed)
    lang_pools = CR.lang_carriers()
    dev_pools = CR.dev_carriers()
    cyclers = {}

    def pick(lang, dev, clean):
        key = (lang, dev, clean)
        if key not in cyclers:
            pool = dev_pools[lang] if dev else lang_pools[lang]
            cyclers[key] = Cycler(random.Random(rng.getrandbits(64)), [c for c in pool if c["clean"] == clean])
        return cyclers[key].next()

    plan = []
    for lang in V.LANGS:
        nd = N_DEV_PER_LANG[lang]
        plan += [(lang, True)] * nd + [(lang, False)] * (N_PER_LANG[lang] - nd)
    records = []
    for lang, dev in plan:
        clean = rng.random() < (P_CLEAN["dev"] if dev else P_CLEAN["lang"])
        carrier = pick(lang, dev, clean)
        mrng = random.Random(rng.getrandbits(64))
        rec, values = make_message(mrng, lang, carrier)
        rec["_carrier"] = carrier["name"]
        rec["_values"] = values
        records.append(rec)
    # random split, stratified by language and by "has no spans" so both files stay balanced
    groups = {}
    for rec in records:
        groups.setdefault((rec["lang"], not rec["spans"]), []).append(rec)
    total = len(records)
    keys = sorted(groups)
    quota = {k: len(groups[k]) * N_DEV_SPLIT // total for k in keys}
    rest = N_DEV_SPLIT - sum(quota.values())
    for k in sorted(keys, key=lambda k: -(len(groups[k]) * N_DEV_SPLIT % total))[:rest]:
        quota[k] += 1
    dev, blind = [], []
    for k in keys:
        recs = groups[k]
        rng.shuffle(recs)
        dev += recs[:quota[k]]
        blind += recs[quota[k]:]
    rng.shuffle(dev)
    rng.shuffle(blind)
    order = dev + blind
    ids = list(range(1, len(order) + 1))
    rng.shuffle(ids)
    for i, rec in zip(ids, order):
        rec["id"] = f"ind-{i:05d}"
    return dev, blind


def public(rec):
    return {"id": rec["id"], "lang": rec["lang"], "kind": rec["kind"], "text": rec["text"],
            "spans": rec["spans"], "decoys": rec["decoys"]}


def write(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for rec in recs:
            f.write(json.dumps(public(rec), ensure_ascii=False) + "\n")


def main():
    dev, blind = build()
    write(os.path.join(HERE, "dev.jsonl"), dev)
    write(os.path.join(HERE, "blind.jsonl"), blind)
    print(f"wrote {len(dev)} dev and {len(blind)} blind messages")


if __name__ == "__main__":
    main()
