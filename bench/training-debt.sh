#!/usr/bin/env bash
# Unlearning debt: GET /v1/training/debt right after an opt-out that touches every model.
#
#   bash bench/training-debt.sh [MODELS] [TENANTS] [DATASETS]
#
# TENANTS tenants (default 1,000, ten per organization) with 10 design-time records each; DATASETS
# `vendor_training` datasets (default 10) over every tenant; MODELS models (default 1,000), each
# registered on 1 to 3 of the datasets. Then, 30 times: an opt-out of one organization (which
# every model's lineage holds) is recorded, and GET /v1/training/debt is asked at once on the
# same keep-alive connection; the answer must list every model as owing `opted_out`. Reports the
# debt request's latency (p50, p99, max) and the opt-out request's own. The opt-out is revoked
# between rounds. DATAPACT_BIN runs another build; DATAPACT_BENCH_BACKEND=postgres runs on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:-1000}
tenants=${2:-1000}
datasets=${3:-10}
port=${DATAPACT_BENCH_PORT:-18186}

source bench/lib/serve.sh

python3 - "$url" "$admin" "$models" "$tenants" "$datasets" <<'PY'
import http.client, json, random, statistics, sys, time, urllib.parse
url, admin, nmodels, ntenants, ndatasets = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
rng = random.Random(17)
orgs = []
for o in range((ntenants + 9) // 10):
    org = call("POST", "/v1/orgs", admin, {"name": f"org{o}", "plan": "enterprise", "region": "eu"})
    oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
    svc = call("POST", "/v1/keys", admin, {"role": "service", "product": "communications-mining", "org": org["id"]})["key"]
    for t in range(min(10, ntenants - o * 10)):
        tid = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": f"t{t}"})["id"]
        recs = [{"product": "communications-mining", "data_kind": "design_time",
                 "content": f"message {i} of tenant {tid}: where is my card {rng.randint(0, 10**9)}"} for i in range(10)]
        call("POST", f"/v1/tenants/{tid}/records/batch", svc, {"records": recs})
    orgs.append(org["id"])
ids = []
for d in range(ndatasets):
    ds = call("POST", "/v1/training/datasets", admin, {"name": f"d{d}", "product": "communications-mining",
        "purpose": "vendor_training", "region": "eu"})
    ids.append(ds["id"])
for i in ids:
    while call("GET", f"/v1/training/datasets/{i}", admin)["status"] == "building":
        time.sleep(0.1)
for m in range(nmodels):
    call("POST", "/v1/training/models", admin, {"name": f"m{m}", "version": "1", "product": "communications-mining",
        "purpose": "vendor_training", "region": "eu", "datasets": rng.sample(ids, rng.randint(1, min(3, len(ids))))})
print(f"{ntenants} tenants, {ndatasets} datasets over all of them, {nmodels} models", flush=True)
debt_ms, opt_ms = [], []
for round in range(30):
    t0 = time.perf_counter()
    opt = call("POST", f"/v1/orgs/{orgs[0]}/opt-outs", admin, {"ticket": f"SUP-{round}", "requested_by": "dpo@example.com"})
    t1 = time.perf_counter()
    d = call("GET", "/v1/training/debt", admin)
    t2 = time.perf_counter()
    owing = [m for m in d["models"] if any(i["reason"] == "opted_out" for i in m["debt"]["items"])]
    if len(owing) != nmodels:
        raise SystemExit(f"round {round}: {len(owing)} of {nmodels} models owe after the opt-out")
    opt_ms.append((t1 - t0) * 1000)
    debt_ms.append((t2 - t1) * 1000)
    call("DELETE", f"/v1/orgs/{orgs[0]}/opt-outs/{opt['id']}", admin)
    if call("GET", "/v1/training/debt", admin)["models"]:
        raise SystemExit("the debt stayed after the opt-out was revoked")
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
print(f"GET /v1/training/debt right after the opt-out, every model owing it: p50 {statistics.median(debt_ms):.1f} ms, "
      f"p99 {q(debt_ms, 0.99):.1f} ms, max {max(debt_ms):.1f} ms (30 rounds); the opt-out itself p50 {statistics.median(opt_ms):.1f} ms")
PY
