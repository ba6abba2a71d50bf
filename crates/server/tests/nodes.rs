//! Three real `datapact serve` nodes on one PostgreSQL database, on loopback: one deployment.
//! Every node answers every endpoint; a change made through one takes effect for decisions on
//! the others within a second (a revoked key included); records written through one are read
//! through another; the audit log stays one log that verifies; background jobs run once, on
//! whichever node holds the worker lease, and their progress reads the same everywhere;
//! concurrent changes of one organization through two nodes lose nothing.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestServer;
use datapact_server::Config;
use datapact_server::config::{StorageBackend, StorageConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A node of the deployment whose database URL is in `url_file`, with its own data directory
/// (holding a copy of the deployment's master key file).
async fn node(dir: &Path, url_file: &Path, master: Option<&Path>) -> TestServer {
    std::fs::create_dir_all(dir).unwrap();
    if let Some(m) = master {
        std::fs::copy(m, dir.join("master.key")).unwrap();
    }
    let mut cfg = Config::default();
    cfg.lifecycle.tick_millis = 50;
    cfg.storage = StorageConfig {
        backend: StorageBackend::Postgres,
        url_file: Some(url_file.to_path_buf()),
        ..Default::default()
    };
    TestServer::start_exactly(dir, cfg).await
}

/// Two nodes of one deployment on a database of their own in the test cluster (`None`
/// without PostgreSQL), with the directory holding their data and the URL file.
async fn two_nodes(db: &str) -> Option<(tempfile::TempDir, std::path::PathBuf, TestServer, TestServer)> {
    let cluster = datapact_pgtest::Cluster::shared()?;
    let tmp = tempfile::tempdir().unwrap();
    let url_file = tmp.path().join("database-url");
    std::fs::write(&url_file, cluster.database(db).await).unwrap();
    let a = node(&tmp.path().join("a"), &url_file, None).await;
    let master = tmp.path().join("a/master.key");
    let b = node(&tmp.path().join("b"), &url_file, Some(&master)).await;
    Some((tmp, url_file, a, b))
}

/// The node holding the worker lease (which runs background work) first, the other second;
/// and a connection to the deployment's database.
async fn worker_first(
    url_file: &Path,
    a: TestServer,
    b: TestServer,
) -> (TestServer, TestServer, tokio_postgres::Client) {
    let url = std::fs::read_to_string(url_file).unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let holder: String = client
        .query_one("SELECT holder FROM leases WHERE name = 'datapact.worker'", &[])
        .await
        .unwrap()
        .get(0);
    let a_name = a.call(Method::GET, "/readyz", None, None).await.1["node"]
        .as_str()
        .unwrap()
        .to_string();
    if holder.starts_with(&format!("{a_name}/")) {
        (a, b, client)
    } else {
        (b, a, client)
    }
}

/// How many `model_register` audit entries name `tenant`, and the entries read.
async fn models_registered(node: &TestServer, tenant: &str) -> (usize, Value) {
    let (st, v) = node
        .get("/v1/audit/entries?action=model_register&limit=100", &node.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let n = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains(tenant))
        .count();
    (n, v)
}

/// Polls `f` until it is true or `within` has passed; returns how long it took.
async fn within<F, Fut>(within: Duration, mut f: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if f().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_are_one_deployment() {
    let Some(cluster) = datapact_pgtest::Cluster::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let url_file = tmp.path().join("database-url");
    std::fs::write(&url_file, cluster.database("nodes").await).unwrap();
    let a = node(&tmp.path().join("a"), &url_file, None).await;
    let master = tmp.path().join("a/master.key");
    let (dir_b, dir_c) = (tmp.path().join("b"), tmp.path().join("c"));
    let (b, c) = tokio::join!(
        node(&dir_b, &url_file, Some(&master)),
        node(&dir_c, &url_file, Some(&master)),
    );
    let nodes = [&a, &b, &c];

    // Each node is ready, names itself, and is not behind.
    let mut names = Vec::new();
    for n in nodes {
        let (st, v) = n.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["backend"], "postgres");
        assert!(v["lag"].as_i64().is_some(), "{v}");
        names.push(v["node"].as_str().unwrap().to_string());
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "every node has a name of its own");
    // Each counts the three live nodes (its heartbeat renews a lease of its own every second),
    // and divides request rates among them.
    for n in nodes {
        let counted = within(Duration::from_secs(5), || async {
            n.call(Method::GET, "/readyz", None, None).await.1["nodes"] == 3
        })
        .await;
        assert!(counted.is_some(), "a node counts three live nodes");
    }

    // The bootstrap admin key from the environment works on every node (registered once).
    let org = a.org("enterprise", "eu").await;
    let oa = a.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = b.tenant(&oa, &org, None).await;
    let ask = json!({"tenant": tenant, "product": "ixp", "purpose": "vendor_training"});
    let svc = c.key(json!({"role": "service", "product": "ixp", "org": org})).await;

    // An opt-out through node a holds for decisions on b and c within a second.
    let (st, v) = a
        .post(
            &format!("/v1/orgs/{org}/opt-outs"),
            &a.admin,
            json!({"ticket": "T-1", "requested_by": "dpo@example.com"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    for n in [&b, &c] {
        let took = within(Duration::from_secs(1), || async {
            n.decide(&oa, ask.clone()).await.1 == ["opted_out"]
        })
        .await;
        assert!(took.is_some(), "the opt-out did not reach another node within a second");
    }

    // A key revoked through node b stops working on a and c within a second.
    let (st, k) = a
        .post("/v1/keys", &a.admin, json!({"role": "org_admin", "org": org}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (kid, secret) = (k["id"].as_str().unwrap(), k["key"].as_str().unwrap().to_string());
    for n in nodes {
        let ok = within(Duration::from_secs(1), || async {
            n.get("/v1/me", &secret).await.0 == StatusCode::OK
        })
        .await;
        assert!(ok.is_some(), "a new key works everywhere within a second");
    }
    let (st, _) = b
        .call(Method::DELETE, &format!("/v1/keys/{kid}"), Some(&b.admin), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    for n in [&a, &c] {
        let took = within(Duration::from_secs(1), || async {
            n.get("/v1/me", &secret).await.0 == StatusCode::UNAUTHORIZED
        })
        .await;
        assert!(
            took.is_some(),
            "a revoked key still works on another node after a second"
        );
    }

    // Records written through one node are read through another; a batch through a third.
    let (st, rec) = a
        .post(
            &format!("/v1/tenants/{tenant}/records"),
            &svc,
            json!({"product": "ixp", "data_kind": "run_time", "content": "written on a"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{rec}");
    let id = rec["id"].as_str().unwrap();
    let (st, got) = c
        .get(&format!("/v1/tenants/{tenant}/records/{id}?purpose=service"), &svc)
        .await;
    assert_eq!(
        (st, got["content"].as_str()),
        (StatusCode::OK, Some("written on a")),
        "{got}"
    );
    let batch: Vec<Value> = (0..50)
        .map(|i| json!({"product": "ixp", "data_kind": "run_time", "content": format!("batch {i}")}))
        .collect();
    let (st, v) = b
        .post(
            &format!("/v1/tenants/{tenant}/records/batch"),
            &svc,
            json!({"records": batch}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, list) = a.get(&format!("/v1/tenants/{tenant}/records?limit=100"), &oa).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 51);

    // Concurrent changes of one organization through two nodes: none is lost.
    let writes: Vec<_> = (0..6)
        .map(|i| {
            let n = nodes[i % 3];
            let org = org.clone();
            async move {
                n.post(
                    &format!("/v1/orgs/{org}/opt-outs"),
                    &n.admin,
                    json!({"ticket": format!("T-{}", i + 2), "requested_by": "dpo@example.com"}),
                )
                .await
                .0
            }
        })
        .collect();
    for st in futures_util::future::join_all(writes).await {
        assert_eq!(st, StatusCode::CREATED);
    }
    for n in nodes {
        let took = within(Duration::from_secs(1), || async {
            let (_, l) = n.get(&format!("/v1/orgs/{org}/opt-outs"), &oa).await;
            l.as_array().map_or(0, Vec::len) == 7
        })
        .await;
        let (_, l) = n.get(&format!("/v1/orgs/{org}/opt-outs"), &oa).await;
        assert!(took.is_some(), "an opt-out made on one node is missing on another: {l}");
    }

    // A key rotation asked through node c: its re-encryption job runs once, on whichever
    // node holds the worker lease, and its progress reads the same from every node.
    let (st, rot) = c
        .post(&format!("/v1/tenants/{tenant}/keys/rotate"), &oa, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{rot}");
    let job = rot["job"]["id"].as_str().unwrap().to_string();
    let done = within(Duration::from_secs(20), || async {
        let (_, j) = a.get(&format!("/v1/jobs/{job}"), &oa).await;
        j["state"] == "done"
    })
    .await;
    assert!(done.is_some(), "the re-encryption job did not finish");
    for n in nodes {
        let (_, j) = n.get(&format!("/v1/jobs/{job}"), &oa).await;
        assert_eq!(
            (j["state"].as_str(), j["done"].as_u64()),
            (Some("done"), Some(51)),
            "{j}"
        );
    }
    let (_, keys) = b.get(&format!("/v1/tenants/{tenant}/keys"), &oa).await;
    let versions: Vec<u64> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2], "the old key was retired once every record moved");
    let (st, got) = a
        .get(&format!("/v1/tenants/{tenant}/records/{id}?purpose=service"), &svc)
        .await;
    assert_eq!((st, got["key_version"].as_u64()), (StatusCode::OK, Some(2)));

    // One audit log: a checkpoint from one node, a proof from another, the entries of every
    // node in it, and the whole log verifies offline from the database.
    let (_, cp) = a.get("/v1/audit/checkpoint", &a.admin).await;
    let size = cp["tree_size"].as_u64().unwrap();
    let (st, proof) = b
        .get(
            &format!("/v1/audit/proofs/inclusion?index={}&tree_size={size}", size - 1),
            &b.admin,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{proof}");
    let url = std::fs::read_to_string(&url_file).unwrap();
    let report = datapact_audit::postgres::verify(&url, None, None).await.unwrap();
    assert!(report.entries >= size && report.checkpoints >= 1, "{report:?}");

    // A node that stops gives its lease up: the others count two at their next heartbeat.
    c.stop().await;
    for n in [&a, &b] {
        let counted = within(Duration::from_secs(5), || async {
            n.call(Method::GET, "/readyz", None, None).await.1["nodes"] == 2
        })
        .await;
        assert!(counted.is_some(), "a stopped node is no longer counted");
    }
    for n in [a, b] {
        n.stop().await;
    }
}

/// A dataset asked for through one node is built once, by whichever node does the background
/// work, and when that node stops mid-build another finishes it: ready once, with every item
/// exactly once and the manifest's digest, its build on the record once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dataset_build_runs_once_and_moves_to_another_node() {
    let Some((_tmp, url_file, a, b)) = two_nodes("nodes_training").await else {
        return;
    };
    // 12 tenants of 1,000 records: long enough that a node stopping part way through the plan
    // stops the build there.
    let mut expected = 0u64;
    for o in 0..3 {
        let (st, org) = a
            .post(
                "/v1/orgs",
                &a.admin,
                json!({"name": format!("o{o}"), "plan": "enterprise", "region": "eu"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{org}");
        let org = org["id"].as_str().unwrap().to_string();
        let oa = a.key(json!({"role": "org_admin", "org": org})).await;
        let svc = a
            .key(json!({"role": "service", "product": "communications-mining", "org": org}))
            .await;
        for t in 0..4 {
            let tenant = a.tenant(&oa, &org, None).await;
            let recs: Vec<Value> = (0..1000)
                .map(|i| {
                    json!({"product": "communications-mining", "data_kind": "design_time",
                        "content": format!("org {o} tenant {t} message {i}: my card was declined at the shop")})
                })
                .collect();
            let (st, v) = a
                .post(
                    &format!("/v1/tenants/{tenant}/records/batch"),
                    &svc,
                    json!({"records": recs}),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            expected += 1000;
        }
    }
    let (st, ds) = a
        .post(
            "/v1/training/datasets",
            &a.admin,
            json!({"name": "moving", "product": "communications-mining", "purpose": "vendor_training", "region": "eu"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ds}");
    let id = ds["id"].as_str().unwrap().to_string();
    // Part way: some tenants built, not all.
    let started = within(Duration::from_secs(30), || async {
        a.get(&format!("/v1/training/datasets/{id}"), &a.admin).await.1["progress"]["tenants_done"]
            .as_u64()
            .is_some_and(|n| n > 0)
    })
    .await;
    // The node doing the deployment's background work (the worker lease's holder) stops.
    let (worker, b, _db) = worker_first(&url_file, a, b).await;
    let (_, at_stop) = worker.get(&format!("/v1/training/datasets/{id}"), &worker.admin).await;
    eprintln!("stopping the worker node at {}", at_stop["progress"]);
    assert!(started.is_some() && at_stop["status"] == "building", "{at_stop}");
    worker.stop().await;
    let ready = within(Duration::from_secs(60), || async {
        b.get(&format!("/v1/training/datasets/{id}"), &b.admin).await.1["status"] == "ready"
    })
    .await;
    assert!(ready.is_some(), "the build finished on the node left");
    let (_, m) = b.get(&format!("/v1/training/datasets/{id}"), &b.admin).await;
    assert_eq!(m["counts"]["included"], expected, "{m}");
    assert_eq!(m["counts"]["candidates"], expected, "{m}");
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/training/datasets/{id}/export", b.url))
        .bearer_auth(&b.admin)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let ids: std::collections::BTreeSet<String> = text
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
    let (st, v) = b
        .get("/v1/audit/entries?action=training_dataset_build&limit=100", &b.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let builds = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["resources"].to_string().contains(&id))
        .count();
    assert_eq!(builds, 1, "built once: {v}");
    b.stop().await;
}

/// A Communications Mining dataset is one dataset whichever node answers: uploads through
/// both, a model trained on one serves on the other, a newer one replaces it everywhere, two
/// trainings at once each get their own version, and a stream's cursor holds across nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mining_dataset_is_one_dataset_on_every_node() {
    let Some((_tmp, _, a, b)) = two_nodes("nodes_mining").await else {
        return;
    };
    let org = a.org("enterprise", "eu").await;
    let oa = a.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = a.tenant(&oa, &org, None).await;
    let (st, d) = a
        .post(
            "/v1/mining/datasets",
            &oa,
            json!({"tenant": tenant, "name": "inbox", "labels": ["Refund", "Login"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let ds = d["id"].as_str().unwrap().to_string();
    let texts = [
        ("Refund", "please refund my order"),
        ("Refund", "I want my money back"),
        ("Login", "I cannot log in"),
        ("Login", "sign in fails with an error"),
    ];
    let batch = |tag: &str, kind: &str| -> Value {
        let msgs: Vec<Value> = (0..24)
            .map(|i| {
                let (l, t) = texts[i % texts.len()];
                let mut m = json!({"id": format!("{tag}{i}"), "text": format!("{t} ({tag} {i})"), "data_kind": kind});
                if kind == "design_time" {
                    m["labels"] = json!([l]);
                }
                m
            })
            .collect();
        json!({"messages": msgs})
    };
    // Uploads through both nodes at once.
    let path = format!("/v1/mining/datasets/{ds}/messages");
    let (ra, rb) = tokio::join!(
        a.post(&path, &oa, batch("a", "design_time")),
        b.post(&path, &oa, batch("b", "run_time"))
    );
    assert_eq!((ra.0, rb.0), (StatusCode::OK, StatusCode::OK), "{} {}", ra.1, rb.1);
    // Trained on B, serving on A.
    let (st, t1) = b.post(&format!("/v1/mining/datasets/{ds}/train"), &oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{t1}");
    let v1 = t1["model_version"].as_u64().unwrap();
    let predict = |n: &TestServer| {
        let p = format!("/v1/mining/datasets/{ds}/predict");
        let oa = oa.clone();
        let n = n.url.clone();
        async move {
            let r = reqwest::Client::new()
                .post(format!("{n}{p}"))
                .bearer_auth(oa)
                .json(&json!({"texts": ["please refund the charge"]}))
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            (
                v["model_version"].as_u64().unwrap_or(0),
                v["predictions"][0]["labels"][0]["name"].clone(),
            )
        }
    };
    assert_eq!(predict(&a).await, (v1, json!("Refund")));
    // A newer one, trained on A, serves on B too.
    let (st, t2) = a.post(&format!("/v1/mining/datasets/{ds}/train"), &oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{t2}");
    let v2 = t2["model_version"].as_u64().unwrap();
    assert!(v2 > v1);
    assert_eq!(predict(&b).await.0, v2);
    // Two at once: each its own version; the newest serves everywhere.
    let train = format!("/v1/mining/datasets/{ds}/train");
    let (x, y) = tokio::join!(a.post(&train, &oa, json!({})), b.post(&train, &oa, json!({})));
    assert_eq!((x.0, y.0), (StatusCode::OK, StatusCode::OK), "{} {}", x.1, y.1);
    let (vx, vy) = (
        x.1["model_version"].as_u64().unwrap(),
        y.1["model_version"].as_u64().unwrap(),
    );
    assert_ne!(vx, vy);
    let newest = vx.max(vy);
    let (_, view) = b.get(&format!("/v1/mining/datasets/{ds}"), &oa).await;
    assert_eq!(view["model"]["version"].as_u64(), Some(newest), "{view}");
    assert_eq!(predict(&a).await.0, newest);
    assert_eq!(predict(&b).await.0, newest);
    // A stream read on one node and advanced on the other.
    let (st, _) = a
        .post(&format!("/v1/mining/datasets/{ds}/streams"), &oa, json!({"name": "s"}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, f1) = b
        .get(&format!("/v1/mining/datasets/{ds}/streams/s/fetch?limit=1000"), &oa)
        .await;
    assert_eq!(st, StatusCode::OK, "{f1}");
    assert_eq!(f1["messages"].as_array().unwrap().len(), 24);
    let (st, _) = a
        .post(
            &format!("/v1/mining/datasets/{ds}/streams/s/advance"),
            &oa,
            json!({"cursor": f1["cursor"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, f2) = b.get(&format!("/v1/mining/datasets/{ds}/streams/s/fetch"), &oa).await;
    assert!(f2["messages"].as_array().unwrap().is_empty(), "{f2}");
    a.stop().await;
    b.stop().await;
}

/// A Communications Mining training too large for its request runs as a job on the node that
/// does the deployment's background work; when that node stops part way, another node runs it
/// again from the messages and it ends once, with a model that serves on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_training_job_moves_to_another_node_when_its_node_stops() {
    let Some((_tmp, url_file, a, b)) = two_nodes("nodes_mining_job").await else {
        return;
    };
    let org = a.org("enterprise", "eu").await;
    let admin = a.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = a.tenant(&admin, &org, None).await;
    let svc = a
        .key(json!({"role": "service", "product": "communications-mining", "org": org}))
        .await;
    let labels: Vec<String> = (0..12).map(|l| format!("Topic {l}")).collect();
    let (st, d) = a
        .post(
            "/v1/mining/datasets",
            &admin,
            json!({"tenant": tenant, "name": "big", "labels": labels}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let ds = d["id"].as_str().unwrap().to_string();
    // 12,000 labeled messages: more than a request trains (5,000), long enough to stop a
    // node part way.
    let words = [
        "invoice", "refund", "login", "password", "delivery", "parcel", "address", "contract", "renewal", "discount",
        "warranty", "repair",
    ];
    for batch in 0..12 {
        let msgs: Vec<Value> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                let l = n % 12;
                json!({"id": format!("m{n}"), "data_kind": "design_time", "labels": [labels[l]],
                    "text": format!("message {n} about the {} and the {} of order {}", words[l], words[(n / 12) % 12], n * 7)})
            })
            .collect();
        let (st, r) = a
            .post(
                &format!("/v1/mining/datasets/{ds}/messages"),
                &svc,
                json!({"messages": msgs}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    let (st, job) = a
        .post(&format!("/v1/mining/datasets/{ds}/train"), &admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    let path = format!("/v1/mining/datasets/{ds}/train/jobs/{}", job["id"].as_str().unwrap());
    let running = within(Duration::from_secs(30), || async {
        b.get(&path, &admin).await.1["status"] == "running"
    })
    .await;
    assert!(running.is_some(), "the job started");
    // The node running it is the worker lease's holder.
    let (_, at_stop) = b.get(&path, &admin).await;
    let (worker, other, client) = worker_first(&url_file, a, b).await;
    eprintln!("stopping the node running the job in phase {}", at_stop["phase"]);
    assert_eq!(
        at_stop["status"], "running",
        "still running when its node stops: {at_stop}"
    );
    worker.stop().await;
    let ended = within(Duration::from_secs(120), || async {
        let s = other.get(&path, &admin).await.1["status"].clone();
        s == "done" || s == "failed"
    })
    .await;
    assert!(ended.is_some(), "the job ended on the node left");
    let (_, done) = other.get(&path, &admin).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["attempts"], 2, "run again after its node stopped: {done}");
    // Ended once: the dataset serves the job's model, and one model was registered for it.
    let (_, view) = other.get(&format!("/v1/mining/datasets/{ds}"), &admin).await;
    assert_eq!(view["model"]["version"], done["model_version"], "{view}");
    let (registered, v) = models_registered(&other, &tenant).await;
    assert_eq!(registered, 1, "one model for the job: {v}");
    // A run that finds the job's model already stored (its node stopped after storing it, or
    // the job's end could not be written) ends the job from it instead of training again, and
    // stores that model's predictions again (the run may have stopped while storing them).
    let job_id = job["id"].as_str().unwrap();
    let cleared = client
        .execute(
            "UPDATE datapact_vault.mining_messages SET pred = NULL, pred_model = 0 WHERE dataset_id = $1",
            &[&ds],
        )
        .await
        .unwrap();
    assert_eq!(cleared, 12_000);
    let n = client
        .execute(
            "UPDATE training_docs SET status = 'running', doc = replace(doc, '\"status\":\"done\"', '\"status\":\"running\"')
             WHERE kind = 'mining_train_job' AND id = $1",
            &[&job_id],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let again = within(Duration::from_secs(30), || async {
        let j = other.get(&path, &admin).await.1;
        j["status"] == "done" && j["finished_at"] != done["finished_at"]
    })
    .await;
    assert!(again.is_some(), "{}", other.get(&path, &admin).await.1);
    let (_, redone) = other.get(&path, &admin).await;
    assert_eq!(redone["model_version"], done["model_version"], "{redone}");
    let (registered, v) = models_registered(&other, &tenant).await;
    assert_eq!(registered, 1, "not trained again: {v}");
    // (After the job reads done: the predictions follow it.)
    let version = done["model_version"].as_i64().unwrap();
    let predicted = within(Duration::from_secs(30), || async {
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM datapact_vault.mining_messages WHERE dataset_id = $1 AND pred_model = $2",
                &[&ds, &version],
            )
            .await
            .unwrap()
            .get(0);
        n == 12_000
    })
    .await;
    assert!(predicted.is_some(), "the queues' predictions stored again");
    let v = &done["validation"];
    assert_eq!(
        v["train_messages"].as_u64().unwrap() + v["held_out_messages"].as_u64().unwrap(),
        12_000,
        "{v}"
    );
    let (st, p) = other
        .post(
            &format!("/v1/mining/datasets/{ds}/predict"),
            &svc,
            json!({"texts": ["a question about the warranty and the refund"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["model_version"], done["model_version"], "{p}");
    other.stop().await;
}
