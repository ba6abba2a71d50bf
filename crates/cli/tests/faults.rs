//! Faults of a deployment of real `datapact serve` processes on a real PostgreSQL, on loopback:
//!
//! - a node killed with SIGKILL in the middle of batch ingest and decisions: every write and
//!   decision acknowledged before (by any node) is there afterwards, and the audit log verifies;
//! - the node sequencing an audit batch killed while it holds the log's head: another node's
//!   appends go on, nothing acknowledged is lost, nothing is duplicated, the log verifies;
//! - a node killed during a tenant's purge: the purge completes on another node, with one
//!   certificate, and the tenant's rows go;
//! - PostgreSQL stopped under load: requests are refused with 503 while it is down (never
//!   answered wrongly, never with a 500; after 5 s cut off from the change feed, every
//!   authenticated request with `stale_state`), and the node recovers by itself when it is back;
//! - a node whose clock is five minutes ahead (libfaketime) dates grants and checkpoints by the
//!   database's clock: a grant made through it is in force on the others at once, and expires
//!   when it says;
//! - the node building a training dataset killed part way: another node finishes it, with every
//!   item once and the manifest's digest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use datapact_pgtest::Cluster;
use serde_json::{Value, json};

const ADMIN: &str = "fault-admin-key-0123456789abcdef";
const PASSPHRASE: &str = "fault tests share one master passphrase";

/// A `datapact serve` process of the deployment.
struct Node {
    child: Child,
    url: String,
    dir: PathBuf,
    name: String,
    config: PathBuf,
    database: String,
}

/// libfaketime's multithreaded library (Debian package libfaketime), if installed.
fn libfaketime() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/faketime",
        "/usr/lib/aarch64-linux-gnu/faketime",
        "/usr/lib/faketime",
        "/usr/lib64/faketime",
    ]
    .iter()
    .map(|d| Path::new(d).join("libfaketimeMT.so.1"))
    .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Node {
    /// Starts a node named `name` with its own data directory under `root`.
    async fn start(root: &Path, name: &str, database: &str) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = root.join("datapact.toml");
        if !config.exists() {
            std::fs::write(
                &config,
                "[storage]\nbackend = \"postgres\"\nurl_env = \"DATAPACT_DATABASE_URL\"\n\n[lifecycle]\ntick_millis = 100\n",
            )
            .unwrap();
        }
        Self::spawn(dir, name.to_string(), config, database.to_string()).await
    }

    async fn spawn(dir: PathBuf, name: String, config: PathBuf, database: String) -> Node {
        Self::spawn_with(dir, name, config, database, None).await
    }

    /// `clock`: run under libfaketime with this offset (`+300s`): the machine's clock is wrong.
    async fn spawn_with(dir: PathBuf, name: String, config: PathBuf, database: String, clock: Option<&str>) -> Node {
        let port = free_port();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_datapact"));
        if let Some(offset) = clock {
            // libfaketime preloaded into the node itself (not the `faketime` wrapper, whose
            // child would outlive a kill): its wall clock is off, its monotonic clock is not.
            cmd.env("LD_PRELOAD", libfaketime().expect("libfaketime"))
                .env("FAKETIME", offset)
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        let child = cmd
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&dir)
            .arg("--config")
            .arg(&config)
            .env("DATAPACT_DATABASE_URL", &database)
            .env("DATAPACT_MASTER_PASSPHRASE", PASSPHRASE)
            .env("DATAPACT_ADMIN_KEY", ADMIN)
            .env("DATAPACT_NODE_NAME", &name)
            .env("DATAPACT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the datapact binary starts");
        let node = Node {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            name,
            config,
            database,
        };
        node.wait_ready().await;
        node
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(r) = http.get(format!("{}/readyz", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "node {} did not become ready: {}",
            self.name,
            std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown, no lease given back, connections cut.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The same node again, on the same data directory.
    async fn restart(self) -> Node {
        let (dir, name, config, database) = (
            self.dir.clone(),
            self.name.clone(),
            self.config.clone(),
            self.database.clone(),
        );
        drop(self);
        Self::spawn(dir, name, config, database).await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        key: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut req = self.http.request(method, url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn post(&self, node: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, &format!("{node}{path}"), key, Some(body))
            .await
            .unwrap()
    }

    async fn get(&self, node: &str, path: &str, key: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, &format!("{node}{path}"), key, None)
            .await
            .unwrap()
    }
}

/// An organization in `region`, its admin key, a tenant and a service key of
/// communications-mining, made through `node`.
async fn customer(api: &Api, node: &str) -> (String, String, String, String) {
    let (st, org) = api
        .post(
            node,
            "/v1/orgs",
            ADMIN,
            json!({"name": "Acme", "plan": "enterprise", "region": "eu"}),
        )
        .await;
    assert_eq!(st, 201, "{org}");
    let org = org["id"].as_str().unwrap().to_string();
    let (st, oa) = api
        .post(node, "/v1/keys", ADMIN, json!({"role": "org_admin", "org": org}))
        .await;
    assert_eq!(st, 201, "{oa}");
    let oa = oa["key"].as_str().unwrap().to_string();
    let (st, t) = api
        .post(node, &format!("/v1/orgs/{org}/tenants"), &oa, json!({"name": "prod"}))
        .await;
    assert_eq!(st, 201, "{t}");
    let tenant = t["id"].as_str().unwrap().to_string();
    let (st, svc) = api
        .post(
            node,
            "/v1/keys",
            ADMIN,
            json!({"role": "service", "product": "communications-mining", "org": org}),
        )
        .await;
    assert_eq!(st, 201, "{svc}");
    (org, oa, tenant, svc["key"].as_str().unwrap().to_string())
}

/// Every record id of `tenant`, read through `node`.
async fn all_record_ids(api: &Api, node: &str, tenant: &str, key: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/tenants/{tenant}/records?limit=1000&after={a}"),
            None => format!("/v1/tenants/{tenant}/records?limit=1000"),
        };
        let (st, page) = api.get(node, &path, key).await;
        assert_eq!(st, 200, "{page}");
        for r in page["items"].as_array().unwrap() {
            ids.insert(r["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return ids,
        }
    }
}

fn records(n: usize, seed: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            json!({"product": "communications-mining", "data_kind": "run_time",
                   "content": format!("message {seed}-{i}: the parcel for order {} is late, call {} back", 10_000 + seed * 31 + i, i * 7),
                   "categories": ["user.content"]})
        })
        .collect();
    json!({"records": records})
}

/// Entries of `action` in the deployment's log, counted in the database.
async fn audit_count(database: &str, action: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    let n: i64 = client
        .query_one("SELECT count(*) FROM audit_entries WHERE action = $1", &[&action])
        .await
        .unwrap()
        .get(0);
    drop(client);
    let _ = task.await;
    n
}

/// What load clients saw: writes and decisions acknowledged, and every answer's status.
#[derive(Default)]
struct Seen {
    written: Vec<String>,
    decisions: u64,
    statuses: Vec<u16>,
}

/// Batch ingest and decisions against `node` until `stop`: returns what was acknowledged.
async fn load(api: Arc<Api>, node: String, tenant: String, svc: String, seed: usize, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let path = format!("{node}/v1/tenants/{tenant}/records/batch");
        match api
            .send(
                reqwest::Method::POST,
                &path,
                &svc,
                Some(records(20, seed * 100_000 + i)),
            )
            .await
        {
            Ok((201, v)) => {
                seen.statuses.push(201);
                seen.written.extend(
                    v["ids"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string()),
                );
            }
            Ok((st, v)) => {
                assert!(st == 503 || st == 429, "a write answered {st}: {v}");
                seen.statuses.push(st);
            }
            Err(_) => seen.statuses.push(0),
        }
        let ask = json!({"tenant": tenant, "product": "communications-mining", "purpose": "service"});
        match api
            .send(reqwest::Method::POST, &format!("{node}/v1/decisions"), &svc, Some(ask))
            .await
        {
            Ok((200, v)) => {
                assert_eq!(v["allowed"], true, "{v}");
                seen.decisions += 1;
            }
            Ok((st, v)) => assert!(st == 503 || st == 429, "a decision answered {st}: {v}"),
            Err(_) => {}
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_acknowledged_write() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let database = cluster.database("faults_kill_load").await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Node::start(tmp.path(), "a", &database).await;
    let (mut b, c) = tokio::join!(
        Node::start(tmp.path(), "b", &database),
        Node::start(tmp.path(), "c", &database)
    );
    let api = Arc::new(Api::new());
    let (_org, _oa, tenant, svc) = customer(&api, &a.url).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (seed, node) in [&b.url, &b.url, &c.url, &c.url].into_iter().enumerate() {
        clients.push(tokio::spawn(load(
            Arc::clone(&api),
            node.clone(),
            tenant.clone(),
            svc.clone(),
            seed,
            Arc::clone(&stop),
        )));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.kill9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Seen::default();
    for cl in clients {
        let s = cl.await.unwrap();
        seen.written.extend(s.written);
        seen.decisions += s.decisions;
        seen.statuses.extend(s.statuses);
    }
    assert!(
        seen.written.len() >= 200,
        "the load ran: {} records",
        seen.written.len()
    );
    assert!(seen.statuses.contains(&0), "some requests to the killed node failed");

    // Every acknowledged record is there, read through a surviving node, and through the
    // killed one once it is back.
    let stored = all_record_ids(&api, &c.url, &tenant, &svc).await;
    let missing: Vec<&String> = seen.written.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "{} acknowledged records lost", missing.len());
    let b = b.restart().await;
    let (st, r) = api
        .get(
            &b.url,
            &format!("/v1/tenants/{tenant}/records/{}?purpose=service", seen.written[0]),
            &svc,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    // Every acknowledged decision has its entry, and the log verifies offline.
    assert!(audit_count(&database, "decision").await >= seen.decisions as i64);
    let report = datapact_audit::postgres::verify(&database, None, None).await.unwrap();
    assert!(report.entries > seen.decisions);
    drop((a, b, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_node_sequencing_an_audit_batch_dies_and_another_takes_over() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let database = cluster.database("faults_integrator").await;
    let tmp = tempfile::tempdir().unwrap();
    let mut b = Node::start(tmp.path(), "b", &database).await;
    let c = Node::start(tmp.path(), "c", &database).await;
    let api = Arc::new(Api::new());
    let (_org, _oa, tenant, svc) = customer(&api, &c.url).await;
    let before = datapact_audit::postgres::verify(&database, None, None)
        .await
        .unwrap()
        .entries;

    // Hold inserts into the log's entries: the next batch (b's) locks the head, then waits.
    let (holder, conn) = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    let conn_task = tokio::spawn(conn);
    holder
        .batch_execute("BEGIN; LOCK TABLE audit_entries IN SHARE MODE")
        .await
        .unwrap();
    let ask = json!({"tenant": tenant, "product": "communications-mining", "purpose": "service"});
    let pending_b: Vec<_> = (0..8)
        .map(|_| {
            let (api, url, svc, ask) = (Arc::clone(&api), b.url.clone(), svc.clone(), ask.clone());
            tokio::spawn(async move {
                api.send(reqwest::Method::POST, &format!("{url}/v1/decisions"), &svc, Some(ask))
                    .await
            })
        })
        .collect();
    // Wait until b's batch holds the head and waits on the held table.
    let start = Instant::now();
    loop {
        let waiting: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE relation = 'audit_entries'::regclass AND NOT granted",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "b's batch never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // c's decisions queue behind b's batch on the head.
    let pending_c: Vec<_> = (0..8)
        .map(|_| {
            let (api, url, svc, ask) = (Arc::clone(&api), c.url.clone(), svc.clone(), ask.clone());
            tokio::spawn(async move {
                api.send(reqwest::Method::POST, &format!("{url}/v1/decisions"), &svc, Some(ask))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.kill9();
    holder.batch_execute("COMMIT").await.unwrap();
    drop(holder);
    let _ = conn_task.await;

    for p in pending_b {
        // b died before answering: none of its decisions was acknowledged.
        assert!(p.await.unwrap().is_err(), "a killed node answered");
    }
    let mut acknowledged = 0;
    for p in pending_c {
        let (st, v) = p.await.unwrap().expect("c answers");
        assert_eq!(st, 200, "{v}");
        acknowledged += 1;
    }
    // b's batch was rolled back with its connection; c's went on. One log, no gap, no
    // duplicate, every acknowledged decision in it, and it keeps growing.
    let after = datapact_audit::postgres::verify(&database, None, None).await.unwrap();
    assert_eq!(
        after.entries,
        before + acknowledged,
        "exactly the acknowledged entries were added"
    );
    let (st, _) = api.post(&c.url, "/v1/decisions", &svc, ask.clone()).await;
    assert_eq!(st, 200);
    let (st, cp) = api.get(&c.url, "/v1/audit/checkpoint", ADMIN).await;
    assert_eq!(st, 200, "{cp}");
    assert_eq!(
        datapact_audit::postgres::verify(&database, None, None)
            .await
            .unwrap()
            .entries,
        before + acknowledged + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_interrupted_by_a_killed_node_completes_elsewhere_once() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let database = cluster.database("faults_purge").await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Node::start(tmp.path(), "a", &database).await;
    let api = Arc::new(Api::new());
    // Kill the purging node at several moments: before, while and after it destroys keys.
    for (round, delay_ms) in [0u64, 15, 40, 120].into_iter().enumerate() {
        let mut b = Node::start(tmp.path(), &format!("b{round}"), &database).await;
        let (_org, oa, tenant, svc) = customer(&api, &a.url).await;
        for i in 0..10 {
            let (st, v) = api
                .post(
                    &a.url,
                    &format!("/v1/tenants/{tenant}/records/batch"),
                    &svc,
                    records(200, i),
                )
                .await;
            assert_eq!(st, 201, "{v}");
        }
        let purge = {
            let (api, url, oa, tenant) = (Arc::clone(&api), b.url.clone(), oa.clone(), tenant.clone());
            tokio::spawn(async move {
                api.send(
                    reqwest::Method::POST,
                    &format!("{url}/v1/tenants/{tenant}/purge"),
                    &oa,
                    Some(json!({})),
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        b.kill9();
        let first = purge.await.unwrap();
        // The customer asks again, through another node: the purge completes (or is found
        // complete) with the same single certificate.
        // While the dead node's purge lease has not expired the answer is 503 `busy`, to retry.
        let start = Instant::now();
        let again = loop {
            let (st, again) = api
                .post(&a.url, &format!("/v1/tenants/{tenant}/purge"), &oa, json!({}))
                .await;
            if st == 200 {
                break again;
            }
            assert_eq!(
                (st, again["code"].as_str()),
                (503, Some("busy")),
                "round {round}: {again}"
            );
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "round {round}: the purge never completed"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let cert = again["certificate"]["statement"]["certificate_id"].clone();
        if let Ok((200, v)) = &first {
            assert_eq!(
                v["certificate"]["statement"]["certificate_id"], cert,
                "round {round}: one certificate"
            );
        }
        let (st, certs) = api
            .get(&a.url, &format!("/v1/tenants/{tenant}/certificates"), &oa)
            .await;
        assert_eq!(st, 200, "{certs}");
        assert_eq!(certs.as_array().map(Vec::len), Some(1), "round {round}: {certs}");
        // The tenant's records are unreadable at once, and their rows go.
        let start = Instant::now();
        loop {
            let ids = all_record_ids(&api, &a.url, &tenant, &oa).await;
            if ids.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "round {round}: {} rows left",
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let report = datapact_audit::postgres::verify(&database, None, None).await.unwrap();
    assert!(report.entries > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_means_503_never_a_wrong_answer_and_recovery_by_itself() {
    // A cluster of its own: it is stopped in the middle.
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let database = cluster.database("faults_restart").await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Node::start(tmp.path(), "a", &database).await;
    let api = Arc::new(Api::new());
    let (org, _oa, tenant, svc) = customer(&api, &a.url).await;
    let (st, _) = api
        .post(
            &a.url,
            &format!("/v1/orgs/{org}/opt-outs"),
            ADMIN,
            json!({"ticket": "SUP-1", "requested_by": "dpo@acme.example"}),
        )
        .await;
    assert_eq!(st, 201);

    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (api, url, tenant, svc, stop) = (
            Arc::clone(&api),
            a.url.clone(),
            tenant.clone(),
            svc.clone(),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                // The organization opted out: training is denied, service allowed. An answer
                // is either right or a 503.
                for (purpose, allowed) in [("vendor_training", false), ("service", true)] {
                    let ask = json!({"tenant": tenant, "product": "communications-mining", "purpose": purpose});
                    let (st, v) = api
                        .send(reqwest::Method::POST, &format!("{url}/v1/decisions"), &svc, Some(ask))
                        .await
                        .expect("the node answers while the database is away");
                    match st {
                        200 => assert_eq!(v["allowed"], allowed, "{v}"),
                        503 => assert_eq!(v["code"].as_str().map(|c| !c.is_empty()), Some(true), "{v}"),
                        other => panic!("a decision answered {other}: {v}"),
                    }
                    statuses.push(st);
                }
                let (st, v) = api
                    .send(
                        reqwest::Method::POST,
                        &format!("{url}/v1/tenants/{tenant}/records/batch"),
                        &svc,
                        Some(records(5, statuses.len())),
                    )
                    .await
                    .expect("the node answers while the database is away");
                assert!(st == 201 || st == 503, "a write answered {st}: {v}");
                statuses.push(st);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (st, v) = api.get(&a.url, "/readyz", ADMIN).await;
    assert_eq!(st, 503, "not ready while the database is away: {v}");
    // Cut off from the deployment's changes for longer than the bound (5 s), the node refuses
    // every authenticated request, not only those that write: a key revoked meanwhile elsewhere
    // would otherwise still work here.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ask = json!({"tenant": tenant, "product": "communications-mining", "purpose": "service"});
    let (st, v) = api.post(&a.url, "/v1/decisions", &svc, ask).await;
    assert_eq!((st, v["code"].as_str()), (503, Some("stale_state")), "{v}");
    cluster.restart();
    // Recovers by itself: ready again, and writes and decisions succeed.
    let start = Instant::now();
    loop {
        let (st, _) = api.get(&a.url, "/readyz", ADMIN).await;
        let (wst, _) = api
            .post(
                &a.url,
                &format!("/v1/tenants/{tenant}/records/batch"),
                &svc,
                records(1, 999_999),
            )
            .await;
        if st == 200 && wst == 201 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the node did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let statuses = prober.await.unwrap();
    assert!(
        statuses.contains(&503),
        "requests were refused while the database was down"
    );
    assert!(
        statuses.iter().rev().take(3).all(|s| *s != 503),
        "and succeed again after"
    );
    let report = datapact_audit::postgres::verify(&database, None, None).await.unwrap();
    assert!(report.entries > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_a_wrong_clock_dates_grants_and_checkpoints_by_the_database() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    if libfaketime().is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs libfaketime (Debian package faketime) for the clock test"
        );
        eprintln!("skipped: no faketime on this machine (apt-get install faketime)");
        return;
    }
    let database = cluster.database("faults_clock").await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Node::start(tmp.path(), "a", &database).await;
    let dir = tmp.path().join("skewed");
    std::fs::create_dir_all(&dir).unwrap();
    let skewed = Node::spawn_with(
        dir,
        "skewed".into(),
        tmp.path().join("datapact.toml"),
        database.clone(),
        Some("+300s"),
    )
    .await;
    let api = Arc::new(Api::new());
    let (_org, oa, tenant, svc) = customer(&api, &a.url).await;
    let (st, r) = api
        .post(
            &a.url,
            &format!("/v1/tenants/{tenant}/records"),
            &svc,
            json!({"product": "communications-mining",
              "data_kind": "run_time", "content": "ticket attachment", "categories": ["user.content"]}),
        )
        .await;
    assert_eq!(st, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let (st, support) = api.post(&a.url, "/v1/keys", ADMIN, json!({"role": "support"})).await;
    assert_eq!(st, 201, "{support}");
    let support = support["key"].as_str().unwrap().to_string();

    // The customer grants support access for an hour through the node with the wrong clock.
    let real = time::OffsetDateTime::now_utc();
    let expires = real + time::Duration::hours(1);
    let (st, grant) = api
        .post(
            &skewed.url,
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "SUP-1", "expires_at": expires.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(st, 201, "{grant}");
    let created = time::OffsetDateTime::parse(
        grant["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (created - real).abs() < time::Duration::seconds(30),
        "dated by the database's clock, not five minutes ahead: {grant}"
    );
    // In force on the node with the right clock as soon as the change reaches it (within the
    // feed's second; five minutes later if the grant were dated by the wrong clock), and on
    // the wrong one.
    for node in [&a.url, &skewed.url] {
        let start = Instant::now();
        loop {
            let (st, v) = api
                .get(
                    node,
                    &format!("/v1/tenants/{tenant}/records/{id}?purpose=support_access"),
                    &support,
                )
                .await;
            if st == 200 {
                assert_eq!(v["content"].as_str(), Some("ticket attachment"), "{v}");
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "the grant is not in force: {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A checkpoint signed through it carries the database's time, and the log verifies.
    let (st, cp) = api.get(&skewed.url, "/v1/audit/checkpoint", ADMIN).await;
    assert_eq!(st, 200, "{cp}");
    let signed = time::OffsetDateTime::parse(
        cp["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        (signed - time::OffsetDateTime::now_utc()).abs() < time::Duration::seconds(30),
        "{cp}"
    );
    datapact_audit::postgres::verify(&database, None, None).await.unwrap();
    // And the node says how far off its clock is: once a measurement's round trip was short
    // enough to count (on a loaded machine the first ones may not be), so read until it is there.
    let mut offset: Option<f64> = None;
    for _ in 0..60 {
        let metrics = reqwest::get(format!("{}/metrics", skewed.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        offset = metrics
            .lines()
            .find(|l| l.starts_with("datapact_clock_offset_seconds"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok());
        if offset.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let offset = offset.expect("the clock offset gauge within 30 s");
    assert!((offset + 300.0).abs() < 30.0, "{offset}");
    drop((a, skewed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dataset_build_killed_with_sigkill_finishes_on_another_node() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let database = cluster.database("faults_training").await;
    let tmp = tempfile::tempdir().unwrap();
    let mut a = Node::start(tmp.path(), "a", &database).await;
    let mut b = Node::start(tmp.path(), "b", &database).await;
    let api = Api::new();
    // Twelve tenants of 4,000 design-time records each: a build of several seconds, whose
    // progress is stored once a second.
    let mut expected = 0u64;
    for t in 0..12 {
        let (_org, _oa, tenant, svc) = customer(&api, &a.url).await;
        for batch in 0..4 {
            let recs: Vec<Value> = (0..1000)
                .map(|i| {
                    json!({"product": "communications-mining", "data_kind": "design_time",
                        "content": format!("tenant {t} batch {batch} message {i}: my parcel {} is late", 10_000 + i * 7)})
                })
                .collect();
            let (st, v) = api
                .post(
                    &a.url,
                    &format!("/v1/tenants/{tenant}/records/batch"),
                    &svc,
                    json!({"records": recs}),
                )
                .await;
            assert_eq!(st, 201, "{v}");
            expected += 1000;
        }
    }
    let (st, ds) = api
        .post(
            &a.url,
            "/v1/training/datasets",
            ADMIN,
            json!({"name": "killed", "product": "communications-mining", "purpose": "vendor_training", "region": "eu"}),
        )
        .await;
    assert_eq!(st, 202, "{ds}");
    let id = ds["id"].as_str().unwrap().to_string();
    // Part way through the plan, the node doing the build is killed.
    let start = Instant::now();
    loop {
        let (_, m) = api.get(&a.url, &format!("/v1/training/datasets/{id}"), ADMIN).await;
        if m["progress"]["tenants_done"].as_u64().is_some_and(|n| n > 0) {
            assert_eq!(m["status"], "building", "killed too late to matter: {m}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no progress: {m}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (client, conn) = tokio_postgres::connect(&database, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    let holder: String = client
        .query_one("SELECT holder FROM leases WHERE name = 'datapact.worker'", &[])
        .await
        .unwrap()
        .get(0);
    drop(client);
    task.abort();
    let survivor = if holder.starts_with("a/") {
        a.kill9();
        &b
    } else {
        b.kill9();
        &a
    };
    // The other node takes the lease over once it expires and finishes the build.
    let start = Instant::now();
    let m = loop {
        let (_, m) = api
            .get(&survivor.url, &format!("/v1/training/datasets/{id}"), ADMIN)
            .await;
        if m["status"] == "ready" {
            break m;
        }
        assert_ne!(m["status"], "failed", "{m}");
        assert!(start.elapsed() < Duration::from_secs(90), "never finished: {m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(m["counts"]["included"], expected, "{m}");
    assert_eq!(m["counts"]["candidates"], expected, "{m}");
    let text = api
        .http
        .get(format!("{}/v1/training/datasets/{id}/export", survivor.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ids: HashSet<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(text.lines().count() as u64, expected, "every item once");
    assert_eq!(ids.len() as u64, expected, "no item twice");
    let mut digest = datapact_training::ExportDigest::default();
    for line in text.split_inclusive('\n') {
        digest.line(line.as_bytes()).unwrap();
    }
    assert_eq!(m["digest"].as_str(), Some(digest.finish().as_str()));
    assert_eq!(audit_count(&database, "training_dataset_build").await, 1, "built once");
}
