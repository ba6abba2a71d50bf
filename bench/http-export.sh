#!/usr/bin/env bash
# Export of a large tenant over HTTP in bounded memory.
#
#   bash bench/http-export.sh [RECORDS]
#
# Writes RECORDS records of 1 KiB (default 1,000,000) through the batch endpoint, then streams
# GET /v1/tenants/{t}/export to /dev/null with curl while sampling the server's resident memory.
# Reports the export rate and the server's peak RSS before and during the export.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
port=${DATAPACT_BENCH_PORT:-18183}

source bench/lib/serve.sh

read -r tenant oa < <(python3 - "$url" "$admin" "$records" <<'PY'
import json, sys, urllib.request, time
url, admin, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
body = json.dumps({"records": [{"product": "communications-mining", "data_kind": "run_time", "content": text}] * 1000}).encode()
start = time.time()
for _ in range(n // 1000):
    req = urllib.request.Request(url + f"/v1/tenants/{tenant}/records/batch", method="POST", data=body,
                                 headers={"authorization": "Bearer " + svc, "content-type": "application/json"})
    urllib.request.urlopen(req).read()
print(f"wrote {n} records in {time.time() - start:.1f} s", file=sys.stderr)
print(tenant, oa)
PY
)

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
before=$(rss)
peak=$before
curl -sS -o /dev/null -H "Authorization: Bearer $oa" -w '%{http_code} %{size_download} %{time_total}\n' \
  "$url/v1/tenants/$tenant/export" >"$work/curl.out" &
client=$!
while kill -0 "$client" 2>/dev/null; do
  now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.2
done
wait "$client"
read -r code bytes secs <"$work/curl.out"
echo "export: HTTP $code, $bytes bytes in ${secs}s: $(python3 -c "print(f'{$records/$secs:.0f} records/s, {$bytes/$secs/1e6:.0f} MB/s')")"
echo "server RSS: ${before} KiB before the export, peak ${peak} KiB during it"
