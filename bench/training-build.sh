#!/usr/bin/env bash
# Training datasets end to end over HTTP: build and export (issue 16's targets).
#
#   bash bench/training-build.sh [RECORDS] [TENANTS]
#
# Writes RECORDS records of about 1 KiB (default 1,000,000) spread over TENANTS tenants (default
# 1,000, ten per organization) as Communications Mining design-time data: mixed text composed
# from the BANKING77 customer queries in ../shared/data (each record different), about 40 % of
# them carrying personal data (names, e-mail addresses, phone numbers, IBANs). Then:
#   1. a `vendor_training` dataset over every tenant with `pii: "mask"` (the default), timed from
#      the POST to `ready` (records considered per second);
#   2. its export streamed to /dev/null with curl while the server's RSS is sampled;
#   3. RECORDS records of one tenant of Agent Builder and a `third_party_finetune` dataset of
#      that tenant with `pii: "off"` (the only purpose where `off` is allowed), timed the same way.
# DATAPACT_BIN runs another build; DATAPACT_BENCH_BACKEND=postgres runs on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
tenants=${2:-1000}
port=${DATAPACT_BENCH_PORT:-18185}
data=${DATAPACT_BENCH_DATA:-../shared/data/banking77/train.jsonl}

source bench/lib/serve.sh

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

python3 - "$url" "$admin" "$records" "$tenants" "$data" "$work" <<'PY'
import http.client, json, random, sys, time, urllib.parse
url, admin, n, ntenants, data, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port)
def call(method, path, key, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    r = conn.getresponse()
    out = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {out[:300]!r}")
    return json.loads(out) if out else None
texts = [json.loads(l)["text"].strip() for l in open(data)]
rng = random.Random(16)
first = ["Anna", "Jonas", "Priya", "Mateo", "Chloé", "Kenji", "Fatima", "Lukas", "Sofia", "Oliver", "Amara", "Diego"]
last = ["Schmidt", "Okafor", "Rossi", "Nguyen", "Dubois", "Kowalski", "García", "Hansen", "Patel", "Silva"]
def record_text():
    parts, size = [], 0
    if rng.random() < 0.4:
        f, l = rng.choice(first), rng.choice(last)
        pii = rng.choice([
            f"My name is {f} {l}, reach me at {f.lower()}.{l.lower()}{rng.randint(1, 999)}@example.com.",
            f"Call me on +44 20 7946 {rng.randint(1000, 9999)} — {f} {l}.",
            f"Please refund to IBAN DE89 3704 0044 0532 0130 00, account holder {f} {l}.",
        ])
        parts.append(pii); size += len(pii)
    while size < 1000:
        t = rng.choice(texts)
        parts.append(t); size += len(t) + 1
    rng.shuffle(parts)
    return " ".join(parts)[:1024]
def write(tenant, svc, product, count):
    done = 0
    while done < count:
        k = min(1000, count - done)
        recs = [{"product": product, "data_kind": "design_time", "categories": ["user.content"], "content": record_text()} for _ in range(k)]
        call("POST", f"/v1/tenants/{tenant}/records/batch", svc, {"records": recs})
        done += k
start = time.time()
per = n // ntenants
all_tenants = []
for o in range((ntenants + 9) // 10):
    org = call("POST", "/v1/orgs", admin, {"name": f"org{o}", "plan": "enterprise", "region": "eu"})
    oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
    svc = call("POST", "/v1/keys", admin, {"role": "service", "product": "communications-mining", "org": org["id"]})["key"]
    for t in range(min(10, ntenants - o * 10)):
        tid = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": f"t{t}"})["id"]
        write(tid, svc, "communications-mining", per)
        all_tenants.append(tid)
print(f"wrote {per * len(all_tenants)} records over {len(all_tenants)} tenants in {time.time() - start:.0f} s", flush=True)

def build(body, label):
    t0 = time.time()
    ds = call("POST", "/v1/training/datasets", admin, body)
    while True:
        time.sleep(0.2)
        m = call("GET", f"/v1/training/datasets/{ds['id']}", admin)
        if m["status"] != "building":
            break
    secs = time.time() - t0
    c = m["counts"]
    if m["status"] != "ready":
        raise SystemExit(f"{label}: {m['status']} {m.get('error')}")
    print(f"{label}: {c['candidates']} records considered, {c['included']} items, {c['deduplicated']} deduplicated, "
          f"masked {sum(c['pii_masked'].values())} spans, in {secs:.1f} s: {c['candidates'] / secs:,.0f} records/s", flush=True)
    return ds["id"], c["included"]

ds, items = build({"name": "bench-mask", "product": "communications-mining", "purpose": "vendor_training", "region": "eu"},
                  "build, pii mask, vendor_training")
open(f"{work}/export", "w").write(f"{ds} {items}\n")

org = call("POST", "/v1/orgs", admin, {"name": "ft", "plan": "enterprise", "region": "eu"})
oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
svc = call("POST", "/v1/keys", admin, {"role": "service", "product": "agent-builder", "org": org["id"]})["key"]
tid = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": "ft"})["id"]
t0 = time.time()
write(tid, svc, "agent-builder", n)
print(f"wrote {n} records of one tenant in {time.time() - t0:.0f} s", flush=True)
open(f"{work}/ft", "w").write(json.dumps({"name": "bench-off", "product": "agent-builder", "purpose": "third_party_finetune",
    "region": "eu", "tenants": [tid], "minimization": {"pii": "off"}}))
PY

read -r ds items <"$work/export"
before=$(rss)
peak=$before
curl -sS -o /dev/null -H "Authorization: Bearer $admin" -w '%{http_code} %{size_download} %{time_total}\n' \
  "$url/v1/training/datasets/$ds/export" >"$work/curl.out" &
client=$!
while kill -0 "$client" 2>/dev/null; do
  now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.2
done
wait "$client"
read -r code bytes secs <"$work/curl.out"
echo "export: HTTP $code, $items items, $bytes bytes in ${secs}s: $(python3 -c "print(f'{$items/$secs:,.0f} items/s, {$bytes/$secs/1e6:.0f} MB/s')"); server RSS ${before} KiB before, peak ${peak} KiB during"

python3 - "$url" "$admin" "$work/ft" <<'PY'
import json, sys, time, urllib.request
url, admin, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
def call(method, path, data=None):
    req = urllib.request.Request(url + path, method=method, data=data.encode() if data else None,
                                 headers={"authorization": "Bearer " + admin, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
t0 = time.time()
ds = call("POST", "/v1/training/datasets", body)
while True:
    time.sleep(0.2)
    m = call("GET", f"/v1/training/datasets/{ds['id']}")
    if m["status"] != "building":
        break
secs = time.time() - t0
c = m["counts"]
print(f"build, pii off, third_party_finetune (one tenant): {c['candidates']} records, {c['included']} items in {secs:.1f} s: "
      f"{c['candidates'] / secs:,.0f} records/s ({m['status']})")
PY
