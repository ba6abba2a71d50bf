#!/usr/bin/env bash
# Communications Mining on BANKING77, through the HTTP API of `datapact serve` (default
# configuration, embedded SQLite):
#
#   bash bench/mining.sh [DATA_DIR]        (default ../shared/data/banking77)
#
# 1. Accuracy: a dataset with BANKING77's 77 intents as labels; train + dev (10,003 messages)
#    uploaded labeled as design-time, POST /train (timed: the request, which reads, trains the
#    held-out model and the serving one, seals, records lineage and refreshes the queues'
#    predictions), then the 3,080 test texts through POST /predict: accuracy of the most
#    probable label, the validation's macro F1 and the model rating.
# 2. Predictions over HTTP: 4 clients on keep-alive connections sending the test texts in
#    batches of 1,000 for 20 s: messages per second.
# 3. Active learning: the 10,003 messages uploaded unlabeled into two datasets; both start from
#    the same 400 labels chosen at random; one adds 1,600 more in rounds of 200 from the `teach`
#    queue (retraining after each round), the other 1,600 at random: test accuracy at 2,000
#    labels for each.
# 4. The anchor, in the same run: TF-IDF + LinearSVC (scikit-learn, installed into
#    target/bench-venv from PyPI on first run) on the same split.
# In-process prediction and training speed: `cargo run --release -p datapact-mining --example banking77`.
# DATAPACT_BIN runs another build; DATAPACT_BENCH_BACKEND=postgres runs on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/banking77}
port=${DATAPACT_BENCH_PORT:-18187}
[ -f "$data/train.jsonl" ] || { echo "no BANKING77 at $data (train.jsonl, dev.jsonl, test.jsonl)" >&2; exit 1; }

source bench/lib/serve.sh

python3 - "$url" "$admin" "$data" <<'PY'
import http.client, json, random, sys, threading, time, urllib.parse
url, admin, data = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlparse(url)
local = threading.local()
def conn():
    if not hasattr(local, "c"):
        local.c = http.client.HTTPConnection(host.hostname, host.port, timeout=600)
    return local.c
def call(method, path, key, body=None):
    c = conn()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"authorization": "Bearer " + key, "content-type": "application/json"})
    r = c.getresponse()
    out = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {out[:300]!r}")
    return json.loads(out) if out else None
def load(name):
    return [json.loads(l) for l in open(f"{data}/{name}.jsonl") if l.strip()]
train = load("train") + load("dev")
test = load("test")
labels = sorted({m["label"] for m in train})
org = call("POST", "/v1/orgs", admin, {"name": "bank", "plan": "enterprise", "region": "eu"})
oa = call("POST", "/v1/keys", admin, {"role": "org_admin", "org": org["id"]})["key"]
svc = call("POST", "/v1/keys", admin, {"role": "service", "product": "communications-mining", "org": org["id"]})["key"]
tenant = call("POST", f"/v1/orgs/{org['id']}/tenants", oa, {"name": "prod"})["id"]
def dataset(name):
    return call("POST", "/v1/mining/datasets", oa, {"tenant": tenant, "name": name, "labels": labels})["id"]
def upload(ds, msgs, labeled):
    for i in range(0, len(msgs), 1000):
        batch = [{"id": m["id"], "text": m["text"], "data_kind": "design_time", **({"labels": [m["label"]]} if labeled else {})}
                 for m in msgs[i:i + 1000]]
        r = call("POST", f"/v1/mining/datasets/{ds}/messages", svc, {"messages": batch})
        assert not r["failed"], r["failed"][:3]
def accuracy(ds):
    right = 0
    for i in range(0, len(test), 1000):
        chunk = test[i:i + 1000]
        r = call("POST", f"/v1/mining/datasets/{ds}/predict", svc, {"texts": [m["text"] for m in chunk]})
        for m, p in zip(chunk, r["predictions"]):
            if p["labels"] and p["labels"][0]["name"] == m["label"]:
                right += 1
    return right / len(test)
def label(ds, ids):
    by_id = {m["id"]: m for m in train}
    for i in ids:
        call("PUT", f"/v1/mining/datasets/{ds}/messages/{urllib.parse.quote(i, safe='')}/labels", oa, {"labels": [by_id[i]["label"]]})

# 1. Accuracy and training time.
ds = dataset("banking77")
t0 = time.perf_counter(); upload(ds, train, True); up = time.perf_counter() - t0
t0 = time.perf_counter(); t = call("POST", f"/v1/mining/datasets/{ds}/train", oa, {}); train_s = time.perf_counter() - t0
v = t["validation"]
acc = accuracy(ds)
print(f"upload: {len(train)} labeled messages in {up:.1f} s ({len(train)/up:,.0f} messages/s)")
print(f"train: {len(train)} labeled messages, POST /train {train_s:.2f} s")
print(f"test accuracy (most probable label, {len(test)} texts): {acc*100:.2f} %")
print(f"validation (held out {v['held_out_messages']}): accuracy {v['accuracy']*100:.2f} %, macro F1 {v['macro_f1']:.4f}, "
      f"rating {v['rating']['score']} ({v['rating']['quality']}), factors {v['rating']['factors']}", flush=True)

# 2. Predictions over HTTP.
texts = [m["text"] for m in test[:1000]]
done = [0]
lock = threading.Lock()
stop = time.perf_counter() + 20
def worker():
    while time.perf_counter() < stop:
        call("POST", f"/v1/mining/datasets/{ds}/predict", svc, {"texts": texts})
        with lock:
            done[0] += len(texts)
t0 = time.perf_counter()
ths = [threading.Thread(target=worker) for _ in range(4)]
for th in ths: th.start()
for th in ths: th.join()
el = time.perf_counter() - t0
print(f"predict over HTTP: {done[0]:,} messages in {el:.1f} s = {done[0]/el:,.0f} messages/s (4 clients, batches of 1,000)", flush=True)

# 3. Active learning: teach queue against random, same seed, 2,000 labels each.
rng = random.Random(77)
order = [m["id"] for m in train]
rng.shuffle(order)
seed, target, step = 400, 2000, 200
teach, rand = dataset("teach"), dataset("random")
for d in (teach, rand):
    upload(d, train, False)
    label(d, order[:seed])
    call("POST", f"/v1/mining/datasets/{d}/train", oa, {})
n = seed
while n < target:
    q = call("GET", f"/v1/mining/datasets/{teach}/queues/teach?limit={step}", oa)
    label(teach, [m["id"] for m in q["messages"]])
    call("POST", f"/v1/mining/datasets/{teach}/train", oa, {})
    n += len(q["messages"])
label(rand, order[seed:target])
call("POST", f"/v1/mining/datasets/{rand}/train", oa, {})
print(f"active learning, {target} labels (seed {seed} random, then rounds of {step}): "
      f"teach queue {accuracy(teach)*100:.2f} %, random {accuracy(rand)*100:.2f} %")
PY

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q scikit-learn==1.5.2
fi
"$venv/bin/python" bench/mining_baseline.py "$data"
