# Sourced by the HTTP benchmarks: picks the storage backend of the server they start.
#
#   DATAPACT_BENCH_BACKEND=sqlite    (default) the embedded default: SQLite in the data directory
#   DATAPACT_BENCH_BACKEND=postgres  a throwaway PostgreSQL cluster on this machine (initdb in the
#                                    work directory, loopback port, PostgreSQL's defaults, so
#                                    fsync and synchronous_commit on), the server pointed at it
#                                    with [storage] backend = "postgres"
#
# Needs $work (a directory removed at exit) and $bin. Sets serve_args (extra arguments of
# `datapact serve`), exports what the server needs, and defines stop_backend.
backend=${DATAPACT_BENCH_BACKEND:-sqlite}
serve_args=()
stop_backend() { :; }
case "$backend" in
  sqlite) ;;
  postgres)
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$pgbin" ] || pgbin=$(pg_config --bindir)
    pgport=${DATAPACT_BENCH_PG_PORT:-15439}
    pgdir="$work/pg"
    mkdir -p "$pgdir"
    chmod 755 "$work"
    as_pg=()
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$pgdir"
      as_pg=(runuser -u postgres --)
    fi
    "${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 >/dev/null
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
      -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
    stop_backend() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true; }
    "${as_pg[@]}" "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE datapact" >/dev/null
    export DATAPACT_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/datapact"
    export DATAPACT_MASTER_PASSPHRASE="bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    printf '[storage]\nbackend = "postgres"\nurl_env = "DATAPACT_DATABASE_URL"\n' >"$work/datapact.toml"
    serve_args=(--config "$work/datapact.toml")
    echo "backend: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pgport (defaults: fsync, synchronous_commit on)"
    ;;
  *) echo "DATAPACT_BENCH_BACKEND must be sqlite or postgres, not $backend" >&2; exit 2 ;;
esac
