# Sourced by the HTTP benchmarks: builds (or takes DATAPACT_BIN, another build for a
# before/after in one session) and starts `datapact serve` on 127.0.0.1:$port, on the backend
# DATAPACT_BENCH_BACKEND picks (bench/lib/backend.sh), with a fresh data directory and a
# platform_admin key. Needs $port; sets bin, work (removed at exit), admin, url and server.
if [ -n "${DATAPACT_BIN:-}" ]; then
  bin=$DATAPACT_BIN
else
  cargo build --release -q -p datapact-cli
  bin=target/release/datapact
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; stop_backend; rm -rf "$work"' EXIT
server=
source bench/lib/backend.sh
admin="bench-admin-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
DATAPACT_ADMIN_KEY=$admin DATAPACT_LOG=warn "$bin" serve "${serve_args[@]}" --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 300); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
