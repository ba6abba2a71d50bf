#!/usr/bin/env bash
# Gateway overhead benchmark (issue 6): datapact's AI trust layer beside the LiteLLM proxy, both
# in front of the same mock OpenAI upstream on loopback, driven by the same open-loop load
# generator (latency counted from each request's scheduled send time) with the same ~2 KB prompt
# (bench/gateway/prompt-2k.json: an email thread with a name, email addresses, a phone number and
# an IBAN, so datapact's PII masking, on by default and set explicitly here, has work to do), and
# the organization's Cedar policies (bench/gateway/policies.cedar) evaluated for every call.
#
#   bash bench/gateway/run.sh                  # release build, the whole run (5 minutes after the
#                                              # build and the first LiteLLM install)
#   PROFILE=debug bash bench/gateway/run.sh    # debug build: a quick check of the harness only
#   SKIP_LITELLM=1 bash bench/gateway/run.sh   # datapact and the mock only
#   SKIP_BUILD=1 [BIN_DIR=DIR] ...             # use binaries already built (DIR/datapact, DIR/examples/*)
#
# Steps:
#   1. baseline: load generator -> mock, at $RATE req/s for $DURATION s
#   2. datapact at the same load, and datapact's own overhead histogram
#      (datapact_gateway_overhead_seconds from GET /metrics, the difference across this step)
#   3. datapact rate sweep ($SWEEP_RATES): the highest rate with p99 < $P99_LIMIT_MS ms, no error
#      and at least 95 % of the rate achieved; and the highest rate without error that it still
#      keeps up with at any latency (its throughput)
#   4. streaming: time to the first event through datapact vs. from the mock directly
#   5. LiteLLM (pinned, installed by setup-litellm.sh): its sweep ($LITELLM_SWEEP_RATES), then the
#      same load as step 2
#   6. the floor (FLOOR=1, the default): the same load through proxies that do nothing but
#      forward: bare_proxy (the gateway's own stack, axum in and reqwest out, nothing else) and,
#      when nginx is installed, nginx with upstream keep-alive. What they add over the mock is
#      what one proxy hop costs on this machine, before any of datapact's work
# Then GET /metrics lines starting with datapact_gateway_overhead are printed, and a summary table;
# every run's JSON and the summary are written to target/bench/gateway-results/<UTC time>/
# (summary also as target/bench/gateway-results/latest.json).
#
# Everything shares this machine's cores: the mock, the gateway under test and the generator.
# Run it on an otherwise idle machine; the script warns when the load average says it is not.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROFILE=${PROFILE:-release}
RATE=${RATE:-2000}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
SWEEP_RATES=${SWEEP_RATES:-"500 1000 2000 3000 4000 6000"}
# LiteLLM is measured from a much lower rate up: a Python proxy sustains far less than 500 req/s
# on two cores, and a sweep that starts above its ceiling would say nothing about where it is.
LITELLM_SWEEP_RATES=${LITELLM_SWEEP_RATES:-"10 25 50 100 200 500 1000 2000 3000 4000 6000"}
SWEEP_DURATION=${SWEEP_DURATION:-10}
SWEEP_WARMUP=${SWEEP_WARMUP:-3}
P99_LIMIT_MS=${P99_LIMIT_MS:-10}
SWEEP_STOP_P99_MS=${SWEEP_STOP_P99_MS:-1000}
STREAM_RATE=${STREAM_RATE:-500}
STREAM_DURATION=${STREAM_DURATION:-10}
# Gap between the mock's streamed events: a gateway that holds events back instead of relaying
# each at once shows up as a later first event.
CHUNK_DELAY_MS=${CHUNK_DELAY_MS:-5}
# A cap on requests in flight per run (wrk2-style fixed pool): an overloaded target queues at
# the generator, where the wait counts in latency, instead of piling up work in the target.
CONNECTIONS=${CONNECTIONS:-256}
TIMEOUT=${TIMEOUT:-10}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
LITELLM_WORKERS=${LITELLM_WORKERS:-$(nproc)}
SKIP_LITELLM=${SKIP_LITELLM:-0}
FLOOR=${FLOOR:-1}
# datapact's [gateway] audit: "durable" (the default: each call's audit entry is on disk before
# its answer) or "async" (appended alongside the answer).
AUDIT=${AUDIT:-durable}
PROMPT=bench/gateway/prompt-2k.json
POLICIES=bench/gateway/policies.cedar

case "$AUDIT" in durable|async) ;; *) echo "run.sh: AUDIT must be durable or async, not '$AUDIT'" >&2; exit 2 ;; esac
case "$PROFILE" in
  release) build_flag=--release ;;
  debug) build_flag= ;;
  *) echo "run.sh: PROFILE must be release or debug, not '$PROFILE'" >&2; exit 2 ;;
esac
for n in "$RATE" "$DURATION" "$WARMUP" "$SWEEP_DURATION" "$SWEEP_WARMUP" "$STREAM_RATE" "$STREAM_DURATION" \
         "$CHUNK_DELAY_MS" "$CONNECTIONS" "$P99_LIMIT_MS" "$SWEEP_STOP_P99_MS" "$TIMEOUT" "$LITELLM_WORKERS" $SWEEP_RATES $LITELLM_SWEEP_RATES; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "run.sh: '$n' is not a whole number (see the knobs at the top of this script)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "run.sh: curl is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: python3 is needed" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== building ($PROFILE)"
  cargo build $build_flag -q --bin datapact --example mock_llm --example loadgen --example bare_proxy
fi
BIN=${BIN_DIR:-target/$PROFILE}
BUILD_LABEL="$PROFILE build"
[ -z "${BIN_DIR:-}" ] || BUILD_LABEL="binaries in $BIN_DIR"
for b in "$BIN/datapact" "$BIN/examples/mock_llm" "$BIN/examples/loadgen" "$BIN/examples/bare_proxy"; do
  [ -x "$b" ] || { echo "run.sh: $b is missing (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done
DATAPACT=$BIN/datapact
MOCK=$BIN/examples/mock_llm
LOADGEN=$BIN/examples/loadgen

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=target/bench/gateway-results/$STAMP
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
LITELLM_PID=

# Stops what this script started, by process id (LiteLLM by its own process group, since its
# worker processes are its children), then removes the scratch directory.
cleanup() {
  set +e
  if [ -n "$LITELLM_PID" ]; then kill -- "-$LITELLM_PID" 2>/dev/null || kill "$LITELLM_PID" 2>/dev/null; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}" $LITELLM_PID; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

read -r load1 _ < /proc/loadavg
echo "== $(nproc) cores, load average $load1; results in $OUT"
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.5 else 1)" "$load1"; then
  echo "   warning: the machine is busy (load average $load1); numbers will be noisier"
fi

# One load generator run: JSON kept as $OUT/NAME.json, one line printed.
run_load() {
  local name=$1; shift
  if ! "$LOADGEN" --label "$name" --json --connections "$CONNECTIONS" --timeout "$TIMEOUT" \
      --threads "$LOADGEN_THREADS" "$@" > "$OUT/$name.json"; then
    echo "run.sh: the load generator failed for $name" >&2
    return 1
  fi
  python3 - "$OUT/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"] or {}
ttfb = r.get("ttfb_ms") or {}
line = (f"   {r['label']:<28} {r['target_rate']:>7.0f} req/s -> {r['achieved_rate']:>8.1f} achieved, "
        f"{r['ok']}/{r['sent']} ok, p50 {lat.get('p50', float('nan')):.3f} ms, p99 {lat.get('p99', float('nan')):.3f} ms")
if ttfb:
    line += f", first event p50 {ttfb['p50']:.3f} / p99 {ttfb['p99']:.3f} ms"
if r["errors"]:
    line += "; errors: " + ", ".join(f"{k} x{v}" for k, v in r["errors"].items())
print(line)
PY
}

# keeps_up FILE P99_MS: true when a run had no error, achieved at least 95 % of its rate and
# kept p99 under P99_MS.
keeps_up() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r["latency_ms"]
ok = r["error_count"] == 0 and lat is not None and lat["p99"] < float(sys.argv[2]) \
    and r["achieved_rate"] >= 0.95 * r["target_rate"]
sys.exit(0 if ok else 1)
PY
}

# sweep NAME URL AUTH_HEADER RATE...: rising rates until one has errors, falls behind, or has
# p99 >= $SWEEP_STOP_P99_MS. That stop is past the $P99_LIMIT_MS ms line on purpose: the steps
# between the two show where a gateway's throughput ends, not only where its latency does.
sweep() {
  local name=$1 url=$2 auth=$3; shift 3
  local r
  for r in "$@"; do
    run_load "$name-sweep-$r" --url "$url" --header "$auth" --body "$PROMPT" \
      --rate "$r" --duration "$SWEEP_DURATION" --warmup "$SWEEP_WARMUP" || return 0
    keeps_up "$OUT/$name-sweep-$r.json" "$SWEEP_STOP_P99_MS" || return 0
    # A moment for connections and queues of the previous step to settle.
    sleep 2
  done
}

wait_http() { # wait_http URL SECONDS PID: until URL answers 2xx, PID exits, or time is up
  local i
  for i in $(seq $(( $2 * 10 ))); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- the mock upstream
"$MOCK" --listen 127.0.0.1:0 --chunk-delay-ms "$CHUNK_DELAY_MS" > "$WORK/mock.out" 2> "$WORK/mock.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/mock.out" ] && break; sleep 0.05; done
MOCK_URL=$(head -n 1 "$WORK/mock.out")
[ -n "$MOCK_URL" ] || { echo "run.sh: the mock did not start: $(cat "$WORK/mock.err")" >&2; exit 1; }
echo "== mock upstream at $MOCK_URL (stream events every $CHUNK_DELAY_MS ms)"

STREAM_BODY=$WORK/prompt-2k-stream.json
python3 - "$PROMPT" "$STREAM_BODY" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
body["stream"] = True
body["stream_options"] = {"include_usage": True}
json.dump(body, open(sys.argv[2], "w"))
PY

echo "== baseline: mock directly"
run_load baseline-mock --url "$MOCK_URL/chat/completions" --header "authorization: Bearer sk-mock-dummy" \
  --body "$PROMPT" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP"

# ---------------------------------------------------------------- datapact
DP_PORT=$(free_port)
DP_URL=http://127.0.0.1:$DP_PORT
ADMIN="bench-admin-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
cat > "$WORK/datapact.toml" <<TOML
[gateway]
audit = "$AUDIT"

[[providers]]
name = "mock-eu"
kind = "third_party"
api = "openai"
base_url = "$MOCK_URL"
region = "eu"
models = ["gpt-4o-mini"]
api_key_env = "DATAPACT_BENCH_MOCK_KEY"
TOML
DATAPACT_ADMIN_KEY=$ADMIN DATAPACT_BENCH_MOCK_KEY=sk-mock-dummy DATAPACT_LOG=warn \
  "$DATAPACT" serve --listen "127.0.0.1:$DP_PORT" --data-dir "$WORK/data" --config "$WORK/datapact.toml" \
  > "$WORK/datapact.log" 2>&1 &
PIDS+=($!)
wait_http "$DP_URL/healthz" 60 "${PIDS[-1]}" || { echo "run.sh: datapact did not start:" >&2; tail -n 20 "$WORK/datapact.log" >&2; exit 1; }

# api METHOD PATH KEY [BODY]: prints the answer, fails on a non-2xx status.
api() {
  local answer status
  answer=$(curl -sS -X "$1" "$DP_URL$2" -H "authorization: Bearer $3" -H 'content-type: application/json' \
    ${4:+-d "$4"} -w '\n%{http_code}')
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  if [[ "$status" != 2* ]]; then
    echo "run.sh: $1 $2 answered $status: $answer" >&2
    return 1
  fi
  printf '%s' "$answer"
}
ORG=$(api POST /v1/orgs "$ADMIN" '{"name": "Gateway bench", "plan": "enterprise", "region": "eu"}' | json_field id)
ORG_ADMIN=$(api POST /v1/keys "$ADMIN" "{\"role\": \"org_admin\", \"org\": \"$ORG\", \"label\": \"bench\"}" | json_field key)
TENANT=$(api POST "/v1/orgs/$ORG/tenants" "$ORG_ADMIN" '{"name": "bench"}' | json_field id)
# Masking is the default; set it so the run does not depend on that default. The Cedar policies
# are evaluated for every call (against each candidate provider).
SETTINGS=$(python3 -c 'import json, sys; print(json.dumps({"pii": "mask", "policies": open(sys.argv[1]).read()}))' "$POLICIES")
api PUT "/v1/orgs/$ORG/ai-settings" "$ORG_ADMIN" "$SETTINGS" > /dev/null
SERVICE=$(api POST /v1/keys "$ADMIN" "{\"role\": \"service\", \"product\": \"ixp\", \"tenant\": \"$TENANT\", \"label\": \"bench ixp\"}" | json_field key)
echo "== datapact at $DP_URL (org $ORG, tenant $TENANT, service key for ixp, pii: mask, Cedar policies: $POLICIES, audit: $AUDIT)"

status=$(curl -sS -o "$WORK/probe.json" -w '%{http_code}' "$DP_URL/v1/chat/completions" \
  -H "authorization: Bearer $SERVICE" -H 'content-type: application/json' -d @"$PROMPT")
if [ "$status" != 200 ]; then
  echo "run.sh: datapact's chat completions answered $status: $(head -c 500 "$WORK/probe.json")" >&2
  exit 1
fi

curl -sS "$DP_URL/metrics" -H "authorization: Bearer $ADMIN" > "$OUT/metrics-before.txt" || true
echo "== datapact at the same load"
run_load datapact --url "$DP_URL/v1/chat/completions" --header "authorization: Bearer $SERVICE" \
  --body "$PROMPT" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP"
curl -sS "$DP_URL/metrics" -H "authorization: Bearer $ADMIN" > "$OUT/metrics-after.txt" || true

echo "== datapact rate sweep (p99 limit $P99_LIMIT_MS ms; stops at errors or p99 >= $SWEEP_STOP_P99_MS ms)"
# shellcheck disable=SC2086 # the rates are a word list on purpose
sweep datapact "$DP_URL/v1/chat/completions" "authorization: Bearer $SERVICE" $SWEEP_RATES

# The sweep ends on a rate the gateway could not keep up with: let it drain first.
sleep 5
echo "== streaming at $STREAM_RATE req/s: time to first event"
run_load stream-mock --stream --url "$MOCK_URL/chat/completions" --header "authorization: Bearer sk-mock-dummy" \
  --body "$STREAM_BODY" --rate "$STREAM_RATE" --duration "$STREAM_DURATION" --warmup 2
status=$(curl -sS -N -o "$WORK/stream-probe.txt" -w '%{http_code}' "$DP_URL/v1/chat/completions" \
  -H "authorization: Bearer $SERVICE" -H 'content-type: application/json' -d @"$STREAM_BODY" || echo 000)
if [ "$status" = 200 ] && grep -q 'data: \[DONE\]' "$WORK/stream-probe.txt"; then
  run_load stream-datapact --stream --url "$DP_URL/v1/chat/completions" --header "authorization: Bearer $SERVICE" \
    --body "$STREAM_BODY" --rate "$STREAM_RATE" --duration "$STREAM_DURATION" --warmup 2
else
  # Streaming through the gateway is being built; report what it answered instead of failing.
  python3 - "$status" "$WORK/stream-probe.txt" "$OUT/stream-datapact-unavailable.json" <<'PY'
import json, sys
detail = open(sys.argv[2], errors="replace").read()[:500]
json.dump({"status": sys.argv[1], "detail": detail}, open(sys.argv[3], "w"))
print(f"   datapact streaming not measured: HTTP {sys.argv[1]}: {detail.strip()[:300]}")
PY
fi

curl -sS "$DP_URL/metrics" -H "authorization: Bearer $ADMIN" > "$OUT/metrics-end.txt" || true
echo "== GET /metrics (datapact_gateway_overhead*)"
if grep -q '^datapact_gateway_overhead' "$OUT/metrics-end.txt"; then
  grep '^datapact_gateway_overhead' "$OUT/metrics-end.txt"
else
  echo "   note: this datapact build exposes no datapact_gateway_overhead metric"
fi

# ---------------------------------------------------------------- the floor
if [ "$FLOOR" = 1 ]; then
  sleep 2
  "$BIN/examples/bare_proxy" --upstream "$MOCK_URL" > "$WORK/bare.out" 2> "$WORK/bare.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/bare.out" ] && break; sleep 0.05; done
  BARE_URL=$(head -n 1 "$WORK/bare.out")
  [ -n "$BARE_URL" ] || { echo "run.sh: bare_proxy did not start: $(cat "$WORK/bare.err")" >&2; exit 1; }
  echo "== the floor: a proxy that only forwards, at the same load"
  run_load floor-bare --url "$BARE_URL/chat/completions" --header "authorization: Bearer sk-mock-dummy" \
    --body "$PROMPT" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP"
  if command -v nginx > /dev/null; then
    NG_PORT=$(free_port)
    mkdir -p "$WORK/nginx"
    MOCK_HOSTPORT=${MOCK_URL#http://}
    MOCK_HOSTPORT=${MOCK_HOSTPORT%/v1}
    cat > "$WORK/nginx/nginx.conf" <<NGINX
user $(id -un);
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  client_max_body_size 4m;
  client_body_buffer_size 64k;
  upstream mock { server $MOCK_HOSTPORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NG_PORT;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' > "$WORK/nginx/stdout" 2>&1 &
    PIDS+=($!)
    if wait_http "http://127.0.0.1:$NG_PORT/v1/models" 10 "${PIDS[-1]}"; then
      NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')
      echo "{\"version\": \"$NGINX_VERSION\"}" > "$OUT/nginx-info.json"
      run_load floor-nginx --url "http://127.0.0.1:$NG_PORT/v1/chat/completions" \
        --header "authorization: Bearer sk-mock-dummy" --body "$PROMPT" --rate "$RATE" \
        --duration "$DURATION" --warmup "$WARMUP"
    else
      echo "   nginx did not start: $(tail -n 3 "$WORK/nginx/error.log" "$WORK/nginx/stdout" 2>/dev/null)"
    fi
  else
    echo "   nginx is not installed: the floor is bare_proxy alone"
  fi
fi

# ---------------------------------------------------------------- LiteLLM
if [ "$SKIP_LITELLM" != 1 ]; then
  echo "== LiteLLM: setting up the pinned venv (first time: a few minutes)"
  LITELLM_BIN=$(bash bench/gateway/setup-litellm.sh)
  LITELLM_VERSION=$("$LITELLM_BIN/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')
  LT_PORT=$(free_port)
  LT_URL=http://127.0.0.1:$LT_PORT
  LITELLM_KEY="sk-bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  mkdir -p "$WORK/litellm-home"
  # Its own session (so cleanup can stop it and its workers as one group) and a scrubbed
  # environment: it sees only what it needs, no credential of this machine.
  setsid env -i PATH="$LITELLM_BIN:/usr/bin:/bin" HOME="$WORK/litellm-home" LANG=C.UTF-8 \
    MOCK_API_BASE="$MOCK_URL" MOCK_API_KEY=sk-mock-dummy LITELLM_MASTER_KEY="$LITELLM_KEY" \
    LITELLM_LOG=ERROR LITELLM_MODE=PRODUCTION LITELLM_LOCAL_MODEL_COST_MAP=True \
    "$LITELLM_BIN/litellm" --config bench/gateway/litellm.yaml --host 127.0.0.1 --port "$LT_PORT" \
    --num_workers "$LITELLM_WORKERS" > "$WORK/litellm.log" 2>&1 &
  LITELLM_PID=$!
  if ! wait_http "$LT_URL/health/liveliness" 300 "$LITELLM_PID"; then
    echo "run.sh: LiteLLM did not start:" >&2; tail -n 30 "$WORK/litellm.log" >&2; exit 1
  fi
  status=$(curl -sS -o "$WORK/lt-probe.json" -w '%{http_code}' "$LT_URL/v1/chat/completions" \
    -H "authorization: Bearer $LITELLM_KEY" -H 'content-type: application/json' -d @"$PROMPT")
  if [ "$status" != 200 ]; then
    echo "run.sh: LiteLLM answered $status: $(head -c 500 "$WORK/lt-probe.json")" >&2; exit 1
  fi
  echo "== LiteLLM $LITELLM_VERSION at $LT_URL ($LITELLM_WORKERS workers)"
  echo "{\"version\": \"$LITELLM_VERSION\", \"workers\": $LITELLM_WORKERS}" > "$OUT/litellm-info.json"
  # Python imports some modules on first use: a quiet warm-up before anything is measured.
  "$LOADGEN" --url "$LT_URL/v1/chat/completions" --header "authorization: Bearer $LITELLM_KEY" --body "$PROMPT" \
    --rate 10 --duration 10 --warmup 0 --timeout "$TIMEOUT" > /dev/null
  echo "== LiteLLM rate sweep (p99 limit $P99_LIMIT_MS ms; stops at errors or p99 >= $SWEEP_STOP_P99_MS ms)"
  # shellcheck disable=SC2086
  sweep litellm "$LT_URL/v1/chat/completions" "authorization: Bearer $LITELLM_KEY" $LITELLM_SWEEP_RATES
  # Last, since above its ceiling it falls behind and needs time to drain what it accepted.
  sleep 5
  echo "== LiteLLM at the same load as datapact"
  run_load litellm --url "$LT_URL/v1/chat/completions" --header "authorization: Bearer $LITELLM_KEY" \
    --body "$PROMPT" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP"
fi

# ---------------------------------------------------------------- summary
python3 - "$OUT" "$RATE" "$DURATION" "$WARMUP" "$P99_LIMIT_MS" "$BUILD_LABEL" "$CHUNK_DELAY_MS" "$PROMPT" <<'PY'
import glob, json, math, os, re, sys

out, rate, duration, warmup, limit, profile, chunk_delay, prompt = sys.argv[1:9]
limit = float(limit)

def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None

def fmt(v, digits=3):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"

litellm_info = load("litellm-info")
lt_name = f"LiteLLM {litellm_info['version']} ({litellm_info['workers']} workers)" if litellm_info else "LiteLLM"
nginx_info = load("nginx-info")
rows = [("mock directly (baseline)", load("baseline-mock")), ("datapact (PII mask)", load("datapact")),
        (lt_name, load("litellm")), ("floor: bare_proxy (axum+reqwest)", load("floor-bare")),
        (f"floor: nginx {nginx_info['version']}" if nginx_info else "floor: nginx", load("floor-nginx"))]

summary = {"build": profile, "rate": float(rate), "duration_s": float(duration), "warmup_s": float(warmup),
           "prompt_bytes": os.path.getsize(prompt), "cores": os.cpu_count(), "p99_limit_ms": limit,
           "litellm": litellm_info, "runs": {}}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(path)[:-5]
    if name != "summary":
        summary["runs"][name] = json.load(open(path))

print()
print(f"== Summary: {os.cpu_count()} cores, {profile}, prompt {summary['prompt_bytes']} bytes, "
      f"{rate} req/s for {duration} s after {warmup} s warm-up; latency from scheduled send, in ms")
print(f"{'target':<34} {'ok/sent':>13} {'achieved':>9} {'p50':>8} {'p90':>8} {'p99':>8} {'p99.9':>8} {'max':>9}  errors")
for label, r in rows:
    if r is None:
        print(f"{label:<34} {'not run':>13}")
        continue
    lat = r["latency_ms"] or {}
    errors = ", ".join(f"{k} x{v}" for k, v in r["errors"].items()) or "none"
    print(f"{label:<34} {str(r['ok']) + '/' + str(r['sent']):>13} {r['achieved_rate']:>9.1f} "
          f"{fmt(lat.get('p50')):>8} {fmt(lat.get('p90')):>8} {fmt(lat.get('p99')):>8} "
          f"{fmt(lat.get('p99_9')):>8} {fmt(lat.get('max')):>9}  {errors}")

base, dp = rows[0][1], rows[1][1]
if base and dp and base["latency_ms"] and dp["latency_ms"]:
    added = {k: dp["latency_ms"][k] - base["latency_ms"][k] for k in ("p50", "p99")}
    summary["datapact_added_e2e_ms"] = added
    print(f"datapact end to end minus the mock directly: p50 +{added['p50']:.3f} ms, p99 +{added['p99']:.3f} ms "
          "(differences of percentiles, an upper bound on the gateway's share)")
    for key, label in (("floor-bare", "bare_proxy"), ("floor-nginx", "nginx")):
        f = load(key)
        if f and f["latency_ms"]:
            fa = {k: f["latency_ms"][k] - base["latency_ms"][k] for k in ("p50", "p99")}
            summary.setdefault("floor_added_e2e_ms", {})[label] = fa
            print(f"the floor, {label} end to end minus the mock directly: p50 +{fa['p50']:.3f} ms, "
                  f"p99 +{fa['p99']:.3f} ms; datapact minus {label}: p50 +{added['p50'] - fa['p50']:.3f} ms, "
                  f"p99 +{added['p99'] - fa['p99']:.3f} ms")

# datapact's own measure: the overhead histogram, the difference across the same-load step.
def buckets(path, metric="datapact_gateway_overhead_seconds"):
    series = {}
    if not os.path.exists(path):
        return series
    for line in open(path):
        m = re.match(metric + r"_bucket\{(.*)\}\s+(\S+)", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            le = labels.pop("le")
            key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            series.setdefault(key, {})[float("inf") if le == "+Inf" else float(le)] = float(m.group(2))
    return series

def histogram_quantile(delta, total, q):
    """Linear interpolation inside the bucket, as Prometheus' histogram_quantile does."""
    lower, below = 0.0, 0.0
    for le, n in delta:
        if n >= q * total:
            if math.isinf(le):
                return lower
            return lower + (le - lower) * ((q * total - below) / max(n - below, 1e-12))
        lower, below = le, n
    return lower

before, after = buckets(os.path.join(out, "metrics-before.txt")), buckets(os.path.join(out, "metrics-after.txt"))
if not after:
    print("datapact's own overhead: no datapact_gateway_overhead_seconds metric in this build")
for key, cum in after.items():
    prev = before.get(key, {})
    delta = sorted((le, n - prev.get(le, 0.0)) for le, n in cum.items())
    total = delta[-1][1]
    if total <= 0:
        continue
    quantile = lambda q: histogram_quantile(delta, total, q)
    within_1ms = next((n for le, n in delta if le >= 0.001), total) / total
    p99_bucket = next(le for le, n in delta if n >= 0.99 * total)
    entry = {"calls": total, "p50_ms": quantile(0.5) * 1000, "p99_ms": quantile(0.99) * 1000,
             "p99_bucket_le_ms": p99_bucket * 1000, "share_within_1ms": within_1ms}
    summary.setdefault("datapact_overhead_metric", {})[key] = entry
    verdict = "met" if p99_bucket <= 0.001 else "NOT met"
    print(f"datapact's own overhead ({key}; warm-up included): {int(total)} calls, p50 ≈ {entry['p50_ms']:.3f} ms, "
          f"p99 ≈ {entry['p99_ms']:.3f} ms (bucket ≤ {entry['p99_bucket_le_ms']:g} ms), "
          f"{100 * within_1ms:.2f} % within 1 ms -> target p99 ≤ 1 ms at {rate} req/s: {verdict}")

# The personal data scan inside the server, per call (every text of the request), from its own
# histograms across the same-load step: its wall time (the target is p99 < 100 µs for a 2 KB
# prompt) and the CPU time its thread ran; the difference is time spent waiting for a core.
for metric, summary_key, what in (
        ("datapact_gateway_pii_scan_seconds", "datapact_pii_scan_metric", "wall time"),
        ("datapact_gateway_pii_scan_cpu_seconds", "datapact_pii_scan_cpu_metric", "CPU time")):
    scan_before = buckets(os.path.join(out, "metrics-before.txt"), metric)
    scan_after = buckets(os.path.join(out, "metrics-after.txt"), metric)
    for key, cum in scan_after.items():
        prev = scan_before.get(key, {})
        delta = sorted((le, n - prev.get(le, 0.0)) for le, n in cum.items())
        total = delta[-1][1]
        if total <= 0:
            continue
        scan_quantile = lambda q: histogram_quantile(delta, total, q)
        p99_bucket = next(le for le, n in delta if n >= 0.99 * total)
        entry = {"calls": total, "p50_us": scan_quantile(0.5) * 1e6, "p99_us": scan_quantile(0.99) * 1e6,
                 "p99_bucket_le_us": p99_bucket * 1e6}
        summary.setdefault(summary_key, {})[key] = entry
        verdict = "" if what != "wall time" else (
            " -> target p99 < 100 µs: " + ("met" if p99_bucket <= 0.0001 else "NOT met"))
        print(f"datapact's PII scan in the server, {what} ({key}): {int(total)} calls, p50 ≈ {entry['p50_us']:.1f} µs, "
              f"p99 ≈ {entry['p99_us']:.1f} µs (bucket ≤ {entry['p99_bucket_le_us']:g} µs){verdict}")

# The sweeps: the highest rate with no error, p99 under the limit and the rate achieved; and the
# highest rate kept up with at any latency (no error, >= 95 % achieved).
print()
print("Rate sweeps (latency from scheduled send; kept up = no error and >= 95 % of the rate achieved):")
sweeps = {}
for who in ("datapact", "litellm"):
    steps = sorted(((float(n.split("-sweep-")[1]), r) for n, r in summary["runs"].items()
                    if n.startswith(who + "-sweep-")), key=lambda s: s[0])
    if not steps:
        continue
    def kept_up(r, p99_limit=float("inf")):
        return (r["error_count"] == 0 and r["latency_ms"] is not None and r["latency_ms"]["p99"] < p99_limit
                and r["achieved_rate"] >= 0.95 * r["target_rate"])
    under = [rt for rt, r in steps if kept_up(r, limit)]
    any_latency = [rt for rt, r in steps if kept_up(r)]
    sweeps[who] = {"highest_rate_p99_under_limit": max(under) if under else None,
                   "highest_rate_kept_up": max(any_latency) if any_latency else None,
                   "rates_tried": [rt for rt, _ in steps]}
    name = "datapact" if who == "datapact" else lt_name
    best = f"{max(under):g} req/s" if under else f"none of {steps[0][0]:g}..{steps[-1][0]:g} req/s"
    most = f"{max(any_latency):g} req/s" if any_latency else "none"
    print(f"  {name}: highest with p99 < {limit:g} ms: {best}; highest kept up with at any latency: {most}")
    for rt, r in steps:
        lat = r["latency_ms"] or {}
        errs = ", ".join(f"{k} x{v}" for k, v in r["errors"].items()) or "no errors"
        print(f"    {rt:>7g} req/s: achieved {r['achieved_rate']:>8.1f}, p50 {fmt(lat.get('p50')):>9}, "
              f"p99 {fmt(lat.get('p99')):>9} ms, {errs}")
summary["sweeps"] = sweeps

print()
sm, sd, su = load("stream-mock"), load("stream-datapact"), load("stream-datapact-unavailable")
print(f"Streaming (events {chunk_delay} ms apart), time to first event from scheduled send, ms:")
if sm and sm.get("ttfb_ms"):
    print(f"  mock directly: p50 {fmt(sm['ttfb_ms']['p50'])}, p99 {fmt(sm['ttfb_ms']['p99'])}")
if sd and sd.get("ttfb_ms") and sm and sm.get("ttfb_ms"):
    added = {k: sd["ttfb_ms"][k] - sm["ttfb_ms"][k] for k in ("p50", "p99")}
    summary["datapact_added_ttft_ms"] = added
    errs = f" ({sd['error_count']} errors)" if sd["error_count"] else ""
    print(f"  datapact:      p50 {fmt(sd['ttfb_ms']['p50'])}, p99 {fmt(sd['ttfb_ms']['p99'])}{errs}")
    print(f"  added time to first token: p50 +{added['p50']:.3f} ms, p99 +{added['p99']:.3f} ms")
elif sd:
    print(f"  datapact: no successful stream ({', '.join(f'{k} x{v}' for k, v in sd['errors'].items())})")
elif su:
    print(f"  datapact: not measured, streaming answered HTTP {su['status']}: {su['detail'].strip()[:200]}")

with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
with open(os.path.join(os.path.dirname(out), "latest.json"), "w") as f:
    json.dump(summary, f, indent=2)
print()
print(f"Results: {out}/ (summary.json, one JSON per run)")
PY
