//! What the vault leaves on disk, checked on the real binary: deleted and purged data leaves
//! no byte behind in any file or in the logs, and a crash loses no acknowledged write.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_datapact");
const ADMIN: &str = "vault-disk-test-admin-key-0123456789";

struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    // The child is moved into `Server`, whose `Drop` kills and waits for it.
    #[allow(clippy::zombie_processes)]
    fn start(data: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("DATAPACT_ADMIN_KEY", ADMIN)
            .env("DATAPACT_LOG", "debug")
            .env_remove("DATAPACT_MASTER_PASSPHRASE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let l2 = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut line = Vec::new();
            while err.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                l2.lock().unwrap().extend_from_slice(&line);
                line.clear();
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let url = loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server exited: {}", String::from_utf8_lossy(&log.lock().unwrap()));
            }
            if let Some(a) = line.trim().strip_prefix("datapact listening on ") {
                break a.to_string();
            }
        };
        let l3 = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut line = Vec::new();
            while out.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                l3.lock().unwrap().extend_from_slice(&line);
                line.clear();
            }
        });
        Self { child, url, log }
    }

    fn kill9(mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call(url: &str, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
    let agent = ureq_like(url);
    agent(method, path, key, body)
}

/// A tiny blocking HTTP client over reqwest's blocking-free API, via a one-off runtime.
fn ureq_like(url: &str) -> impl Fn(&str, &str, &str, Option<&Value>) -> (u16, Value) + '_ {
    move |method, path, key, body| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = reqwest::Client::new();
            let mut req = client
                .request(method.parse().unwrap(), format!("{url}{path}"))
                .bearer_auth(key);
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
                }
                Err(_) => (0, Value::Null),
            }
        })
    }
}

fn setup(url: &str) -> (String, String, String, String) {
    let (_, org) = call(
        url,
        "POST",
        "/v1/orgs",
        ADMIN,
        Some(&json!({"name": "Canary Co", "plan": "enterprise", "region": "eu"})),
    );
    let org = org["id"].as_str().unwrap().to_string();
    let (_, oa) = call(
        url,
        "POST",
        "/v1/keys",
        ADMIN,
        Some(&json!({"role": "org_admin", "org": org})),
    );
    let oa = oa["key"].as_str().unwrap().to_string();
    let (_, t) = call(
        url,
        "POST",
        &format!("/v1/orgs/{org}/tenants"),
        &oa,
        Some(&json!({"name": "t"})),
    );
    let tenant = t["id"].as_str().unwrap().to_string();
    let (_, svc) = call(
        url,
        "POST",
        "/v1/keys",
        ADMIN,
        Some(&json!({"role": "service", "product": "ixp"})),
    );
    (org, oa, tenant, svc["key"].as_str().unwrap().to_string())
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn deleted_and_purged_data_leaves_no_trace_on_disk_or_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (_, oa, tenant, svc) = setup(&server.url);
    let canary = |i: usize| format!("CANARY-{i:04}-d4t4p4ct-{}", std::process::id());
    let mut ids = Vec::new();
    for chunk in (0..400).collect::<Vec<_>>().chunks(100) {
        let records: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"product": "ixp", "data_kind": "run_time", "content": format!("{} lives at 1 Main St", canary(*i))}))
            .collect();
        let (st, v) = call(
            &server.url,
            "POST",
            &format!("/v1/tenants/{tenant}/records/batch"),
            &svc,
            Some(&json!({"records": records})),
        );
        assert_eq!(st, 201, "{v}");
        ids.extend(
            v["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap().to_string()),
        );
    }
    // Read some (content passes through the server), change some, delete some, then purge.
    for id in &ids[..20] {
        let (st, _) = call(
            &server.url,
            "GET",
            &format!("/v1/tenants/{tenant}/records/{id}?purpose=service"),
            &svc,
            None,
        );
        assert_eq!(st, 200);
    }
    for (i, id) in ids[20..40].iter().enumerate() {
        let body = json!({"content": format!("{} changed", canary(1000 + i))});
        let (st, _) = call(
            &server.url,
            "PATCH",
            &format!("/v1/tenants/{tenant}/records/{id}"),
            &oa,
            Some(&body),
        );
        assert_eq!(st, 200);
    }
    for id in &ids[40..80] {
        let (st, _) = call(
            &server.url,
            "DELETE",
            &format!("/v1/tenants/{tenant}/records/{id}"),
            &oa,
            None,
        );
        assert_eq!(st, 204);
    }
    let (st, p) = call(
        &server.url,
        "POST",
        &format!("/v1/tenants/{tenant}/purge"),
        &oa,
        Some(&json!({})),
    );
    assert_eq!(st, 200, "{p}");
    let job = p["job"]["id"].as_str().unwrap().to_string();
    let mut state = Value::Null;
    for _ in 0..400 {
        let (_, j) = call(&server.url, "GET", &format!("/v1/jobs/{job}"), &oa, None);
        state = j["state"].clone();
        if state == "done" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(
        state, "done",
        "the purge's row removal finished before the disk is searched"
    );
    let log = server.log.lock().unwrap().clone();
    drop(server);
    let mut found = Vec::new();
    for i in (0..400).chain(1000..1020) {
        let c = canary(i);
        for (path, bytes) in files(&data) {
            if contains(&bytes, c.as_bytes()) {
                found.push(format!("{c} in {path}"));
            }
        }
        if contains(&log, c.as_bytes()) {
            found.push(format!("{c} in the server's log output"));
        }
    }
    assert!(found.is_empty(), "canaries left behind:\n{}", found.join("\n"));
    assert!(!log.is_empty(), "the server did log (at debug level)");
}

#[test]
fn a_crash_during_batch_writes_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (_, oa, tenant, svc) = setup(&server.url);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, tenant, svc, acked, stop) =
                (server.url.clone(), tenant.clone(), svc.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 10_000 {
                    let records: Vec<Value> = (0..50)
                        .map(|i| json!({"product": "ixp", "data_kind": "run_time", "content": format!("w{w} b{n} r{i}")}))
                        .collect();
                    let (st, v) = call(&url, "POST", &format!("/v1/tenants/{tenant}/records/batch"), &svc, Some(&json!({"records": records})));
                    if st == 201 {
                        acked.lock().unwrap().extend(v["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()));
                    } else {
                        break;
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Let the writers run, then kill the server in the middle of their batches.
    while acked.lock().unwrap().len() < 2000 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.kill9();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let server = Server::start(&data);
    let mut present = std::collections::HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/tenants/{tenant}/records?limit=1000&after={a}"),
            None => format!("/v1/tenants/{tenant}/records?limit=1000"),
        };
        let (st, page) = call(&server.url, "GET", &path, &oa, None);
        assert_eq!(st, 200);
        present.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    let lost: Vec<&String> = acked.iter().filter(|id| !present.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged records lost after kill -9",
        lost.len(),
        acked.len()
    );
    assert_eq!(present.len() % 50, 0, "batches are all or nothing");
    // And every one of them still decrypts.
    let (st, v) = call(
        &server.url,
        "GET",
        &format!(
            "/v1/tenants/{tenant}/records/{}?purpose=service",
            acked[acked.len() - 1]
        ),
        &svc,
        None,
    );
    assert_eq!(st, 200, "{v}");
}
