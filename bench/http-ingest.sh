#!/usr/bin/env bash
# HTTP batch ingest: POST /v1/tenants/{t}/records/batch over loopback with keep-alive, using wrk.
#
#   bash bench/http-ingest.sh [DURATION_SECONDS] [CONNECTIONS] [BATCH]
#
# Each request carries BATCH records of about 1 KiB of mixed text (e-mails, tickets, chats, logs;
# default 100) for one of twelve (tenant, product) pairs, rotating over 16 distinct bodies; the server
# encrypts each under the tenant's data key and commits the batch durably (SQLite WAL,
# synchronous=FULL) before answering 201. Records per second = requests per second x BATCH.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
connections=${2:-8}
batch=${3:-100}
port=${DATAPACT_BENCH_PORT:-18182}

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
source bench/lib/serve.sh

python3 - "$url" "$admin" "$batch" "$work" <<'PY'
import json, random, sys, urllib.request
url, admin, batch, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = random.Random(15)
def call(method, path, key, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
# Mixed content: e-mails, tickets, chat turns and log lines of about 1 KiB, with names, numbers
# and addresses varying, over four tenants of two organizations and three products.
first = ["Anna", "Jonas", "Priya", "Mateo", "Chloe", "Kenji", "Fatima", "Liam", "Sofia", "Noah"]
last = ["Schmidt", "Okafor", "Rossi", "Nguyen", "Dubois", "Kowalski", "Haddad", "Silva", "Berg", "Tanaka"]
subjects = ["invoice", "refund", "delivery delay", "password reset", "contract renewal", "damaged item", "address change"]
def text(kind):
    name = f"{rng.choice(first)} {rng.choice(last)}"
    given, family = name.split()
    order = rng.randint(100000, 999999)
    parts = {
        "email": ["Dear support team,", f"I am writing about my {rng.choice(subjects)} (order {order}).",
                  f"Please reach me at {given.lower()}.{family.lower()}@example.com or +44 20 7946 {rng.randint(1000, 9999)}.",
                  "The parcel arrived on Tuesday, but the amount charged does not match the quote we agreed."],
        "ticket": [f"Ticket #{rng.randint(10000, 99999)} opened by {name}.", f"Category: {rng.choice(subjects)}.",
                   f"Customer reports that the service at {rng.randint(1, 200)} High Street has been unavailable since {rng.randint(1, 28)} March.",
                   "Steps tried: restart, cache cleared, new browser. Escalating to second line."],
        "chat": [f"user: hi, it's {name} again", f"agent: hello {given}, how can I help with order {order}?",
                 f"user: the {rng.choice(subjects)} still isn't sorted, I've been waiting {rng.randint(2, 14)} days",
                 "agent: I'm sorry about that, let me check the status with the warehouse now."],
        "log": [f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} INFO request id={rng.getrandbits(64):016x} user={given.lower()} status=200",
                f"WARN retry {rng.randint(1, 5)} for job {order} after timeout of {rng.randint(100, 900)} ms",
                "DEBUG cache miss for key tenant-config; loading from the primary"],
    }[kind]
    out = " ".join(parts)
    while len(out) < 1100:
        out += " " + rng.choice(parts)
    return out[: rng.randint(960, 1088)]
tenants = []
for o in range(2):
    org = call("POST", "/v1/orgs", admin, {"name": f"bench {o}", "plan": "enterprise", "region": ["eu", "us"][o]})
    oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
    for t in range(2):
        tenant = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": f"t{t}"})["id"]
        for product in ["communications-mining", "ixp", "agent-builder"]:
            svc = call("POST", "/v1/keys", admin, {"role": "service", "product": product, "tenant": tenant})["key"]
            tenants.append((tenant, product, svc))
CATS = {"email": ["user.contact"], "ticket": ["user.content"], "chat": ["user.content", "user.contact"], "log": ["system.operations"]}
bodies = 16
lua = []
for i in range(bodies):
    tenant, product, svc = tenants[i % len(tenants)]
    records = []
    for _ in range(batch):
        kind = rng.choice(["email", "ticket", "chat", "log"])
        records.append({"product": product, "data_kind": rng.choice(["run_time", "design_time"]), "content": text(kind),
                        "categories": CATS[kind], "metadata": {"channel": kind}})
    open(f"{work}/body{i}.json", "w").write(json.dumps({"records": records}))
    lua.append('{key = "%s", path = "/v1/tenants/%s/records/batch", file = "%s/body%d.json"}' % (svc, tenant, work, i))
open(f"{work}/vars.lua", "w").write("bodies = {%s}\n" % ",\n".join(lua))
print(f"{len(tenants)} (tenant, product) pairs over 2 organizations; {bodies} distinct bodies of {batch} mixed records of about 1 KiB")
PY

cat >"$work/ingest.lua" <<LUA
dofile("$work/vars.lua")
local requests = {}
for i, b in ipairs(bodies) do
  local f = io.open(b.file, "rb")
  local body = f:read("*a")
  f:close()
  requests[i] = wrk.format("POST", b.path, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. b.key}, body)
end
local n = 0
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d, socket errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("records/s: %.0f (batch of $batch)\n", summary.requests / (summary.duration / 1e6) * $batch))
  io.write(string.format("batch latency p50 %.1f ms, p99 %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

echo "warm-up"
wrk -t1 -c"$connections" -d3s -s "$work/ingest.lua" "$url" >/dev/null
echo "measuring ${duration}s with $connections keep-alive connections on $(nproc) cores"
wrk -t1 -c"$connections" -d"${duration}s" -s "$work/ingest.lua" "$url"
