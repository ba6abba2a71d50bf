#!/usr/bin/env bash
# HTTP batch ingest: POST /v1/tenants/{t}/records/batch over loopback with keep-alive, using wrk.
#
#   bash bench/http-ingest.sh [DURATION_SECONDS] [CONNECTIONS] [BATCH]
#
# Each request carries BATCH records of 1 KiB of text (default 100) for one tenant; the server
# encrypts each under the tenant's data key and commits the batch durably (SQLite WAL,
# synchronous=FULL) before answering 201. Records per second = requests per second x BATCH.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
connections=${2:-8}
batch=${3:-100}
port=${DATAPACT_BENCH_PORT:-18182}

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
cargo build --release -q -p datapact-cli
bin=target/release/datapact

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
admin="bench-admin-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
DATAPACT_ADMIN_KEY=$admin DATAPACT_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done

python3 - "$url" "$admin" "$batch" "$work" <<'PY'
import json, sys, urllib.request
url, admin, batch, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(method, path, key, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
org = call("POST", "/v1/orgs", admin, {"name": "bench", "plan": "enterprise", "region": "eu"})
oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
tenant = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": "t"})["id"]
svc = call("POST", "/v1/keys", admin, {"role": "service", "product": "communications-mining", "tenant": tenant})["key"]
text = ("Dear support, the invoice for order 4411 is wrong; please call me back. " * 20)[:1024]
body = {"records": [{"product": "communications-mining", "data_kind": "run_time", "content": text,
                     "categories": ["user.contact"], "metadata": {"channel": "email"}} for _ in range(batch)]}
open(f"{work}/body.json", "w").write(json.dumps(body))
open(f"{work}/vars.lua", "w").write(f'key = "{svc}"\npath = "/v1/tenants/{tenant}/records/batch"\n')
print(f"tenant {tenant}; body {len(json.dumps(body))} bytes ({batch} records of 1 KiB)")
PY

cat >"$work/ingest.lua" <<LUA
dofile("$work/vars.lua")
local f = io.open("$work/body.json", "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = path
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
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
