#!/usr/bin/env bash
# HTTP load on POST /v1/decisions over loopback with keep-alive, using wrk.
#
#   bash bench/http-decisions.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Builds the release binary, starts `datapact serve` on a fresh data directory with
# 1,000 organizations and 10,000 tenants, then drives random decisions (random tenant,
# product and purpose, as a product's service key would ask) with wrk on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
connections=${2:-32}
port=${DATAPACT_BENCH_PORT:-18181}
orgs=${DATAPACT_BENCH_ORGS:-1000}

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
source bench/lib/serve.sh

# Populate: orgs with 10 tenants each, through the API.
python3 - "$url" "$admin" "$orgs" "$work/tenants.lua" <<'PY'
import json, sys, urllib.request
url, admin, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(method, path, key, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
plans = ["free", "standard", "advanced", "enterprise"]
tenants = []
for i in range(n):
    org = call("POST", "/v1/orgs", admin, {"name": f"org {i}", "plan": plans[i % 4], "region": ["eu", "us"][i % 2], "baa": i % 7 == 0})
    oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
    for j in range(10):
        tenants.append(call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": f"t{j}"})["id"])
svc = call("POST", "/v1/keys", admin, {"role": "platform_admin", "label": "bench"})["key"]
with open(out, "w") as f:
    f.write("key = %s\ntenants = {%s}\n" % (json.dumps(svc), ",".join(json.dumps(t) for t in tenants)))
print(f"populated {n} organizations and {len(tenants)} tenants")
PY

cat >"$work/decide.lua" <<LUA
dofile("$work/tenants.lua")
local products = {"ixp", "orchestrator", "communications-mining", "agent-builder", "apps", "studio", "document-understanding"}
local purposes = {"service", "vendor_training", "genai", "third_party_finetune", "support_access", "telemetry"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
request = function()
  local body = string.format('{"tenant":"%s","product":"%s","purpose":"%s"}',
    tenants[math.random(#tenants)], products[math.random(#products)], purposes[math.random(#purposes)])
  return wrk.format(nil, "/v1/decisions", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx responses: %d, socket errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
LUA

echo "warm-up"
wrk -t1 -c"$connections" -d3s -s "$work/decide.lua" "$url" >/dev/null
echo "measuring ${duration}s with $connections keep-alive connections on $(nproc) cores"
wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$work/decide.lua" "$url"
