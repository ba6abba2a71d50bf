//! The audit log from the CLI: verify from storage and over the API, proofs fetched and
//! checked offline, queries and exports; tampering with storage is found and named.

mod common;

use std::path::Path;

use common::{Served, datapact, text};
use serde_json::Value;

const KEY: &str = "an-operator-chosen-key-of-decent-length";

/// A served data directory with an organization, its admin and auditor, and some activity.
struct World {
    s: Served,
    org: String,
    oa: String,
    auditor: String,
}

fn world(dir: &Path) -> World {
    let s = Served::start(dir, &[], &[("DATAPACT_ADMIN_KEY", KEY)]);
    let org = s.json(
        KEY,
        &["org", "create", "--name", "A", "--plan", "enterprise", "--region", "eu"],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let oa = s.json(KEY, &["api-key", "create", "--role", "org_admin", "--org", &org])["key"]
        .as_str()
        .unwrap()
        .to_string();
    let auditor = s.json(KEY, &["api-key", "create", "--role", "auditor", "--org", &org])["key"]
        .as_str()
        .unwrap()
        .to_string();
    let w = World { s, org, oa, auditor };
    w.activity(3);
    w
}

impl World {
    fn activity(&self, n: usize) {
        for i in 0..n {
            let t = self.s.json(
                &self.oa,
                &["tenant", "create", "--org", &self.org, "--name", &format!("t{i}")],
            );
            let out = self.s.cli(
                &self.oa,
                &[
                    "decide",
                    "--tenant",
                    t["id"].as_str().unwrap(),
                    "--product",
                    "ixp",
                    "--purpose",
                    "service",
                ],
            );
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
}

/// The tree size of a saved checkpoint file, as a CLI argument.
fn tree_size(path: &Path) -> String {
    serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap()).unwrap()["tree_size"]
        .as_u64()
        .unwrap()
        .to_string()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn failed(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout) + &text(&out.stderr)
}

#[test]
fn verify_from_storage_names_the_tampered_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let w = world(&dir);
    ok(&w.s.cli(KEY, &["audit", "checkpoint"]));
    drop(w);
    let d = dir.to_str().unwrap();
    let report = ok(&datapact(&["audit", "verify", "--data-dir", d], &[]));
    assert!(report.starts_with("OK:") && report.contains("checkpoint"), "{report}");

    let db = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    // A decision's outcome turned from allowed into denied.
    let idx: i64 = db
        .query_row(
            "SELECT idx FROM entries WHERE action = 'decision' ORDER BY idx LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let leaf: Vec<u8> = db
        .query_row("SELECT leaf FROM entries WHERE idx = ?1", [idx], |r| r.get(0))
        .unwrap();
    // The stored form is packed (datapact_audit::codec); a tamperer can write plain JSON back.
    let altered = String::from_utf8(datapact_audit::codec::unpack(&leaf).unwrap().into_owned())
        .unwrap()
        .replace("\"allowed\"", "\"denied\"");
    db.execute(
        "UPDATE entries SET leaf = ?1, outcome = 'denied' WHERE idx = ?2",
        rusqlite::params![altered.as_bytes(), idx],
    )
    .unwrap();
    let msg = failed(&datapact(&["audit", "verify", "--data-dir", d], &[]));
    assert!(msg.contains(&format!("entry {idx}:")), "{msg}");
    db.execute(
        "UPDATE entries SET leaf = ?1, outcome = 'allowed' WHERE idx = ?2",
        rusqlite::params![leaf, idx],
    )
    .unwrap();
    ok(&datapact(&["audit", "verify", "--data-dir", d], &[]));

    // An entry removed.
    let row: (Vec<u8>, String) = db
        .query_row("SELECT leaf, action FROM entries WHERE idx = 2", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    db.execute("DELETE FROM entries WHERE idx = 2", []).unwrap();
    let msg = failed(&datapact(&["audit", "verify", "--data-dir", d], &[]));
    assert!(msg.contains("entry 2: missing"), "{msg}");
    drop(row);

    // A checkpoint re-signed with another key is refused against the pinned server key.
    let other = datapact(
        &[
            "audit",
            "verify",
            "--data-dir",
            d,
            "--public-key",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ],
        &[],
    );
    assert!(!other.status.success());

    // A data directory without a log is a clear error, not a panic.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = datapact(&["audit", "verify", "--data-dir", empty.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a datapact data directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_over_the_api_and_proofs_checked_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(&tmp.path().join("d"));
    let state = tmp.path().join("state.json");
    let st = state.to_str().unwrap();

    // The vendor's view: every entry recomputed into the signed root.
    let report = ok(&w.s.cli(KEY, &["audit", "verify", "--state", st]));
    assert!(report.contains("entries recomputed into the signed root"), "{report}");
    assert!(state.exists());
    w.activity(2);
    let report = ok(&w.s.cli(KEY, &["audit", "verify", "--state", st]));
    assert!(report.contains("consistent with the saved one"), "{report}");
    // A customer's auditor: each of its entries proven included, and the log only grew.
    let report = ok(&w.s.cli(&w.auditor, &["audit", "verify", "--state", st]));
    assert!(
        report.contains("entries of this organization proven included"),
        "{report}"
    );

    // Fetch a checkpoint and an inclusion proof, then check them offline.
    let cp = tmp.path().join("cp.json");
    ok(&w
        .s
        .cli(&w.auditor, &["audit", "checkpoint", "--out", cp.to_str().unwrap()]));
    let entries = w.s.json(&w.auditor, &["audit", "query", "--action", "decision"]);
    let index = entries["items"][0]["index"].as_u64().unwrap().to_string();
    let proof = tmp.path().join("proof.json");
    let size = tree_size(&cp);
    ok(&w.s.cli(
        &w.auditor,
        &[
            "audit",
            "proof",
            "--index",
            &index,
            "--tree-size",
            &size,
            "--out",
            proof.to_str().unwrap(),
        ],
    ));
    let entry = tmp.path().join("proof.entry.json");
    let pk = w.s.json(&w.auditor, &["audit", "checkpoint"])["public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let check = |entry: &Path| {
        datapact(
            &[
                "audit",
                "check-proof",
                "--checkpoint",
                cp.to_str().unwrap(),
                "--public-key",
                &pk,
                "--inclusion",
                proof.to_str().unwrap(),
                "--entry",
                entry.to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = ok(&check(&entry));
    assert!(out.starts_with(&format!("OK: entry {index} is in the log")), "{out}");
    // The same proof does not vouch for an altered entry.
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    let leaf = base64_decode(e["leaf"].as_str().unwrap());
    let altered = String::from_utf8(leaf).unwrap().replace("\"decision\"", "\"export\"");
    e["leaf"] = Value::String(base64_encode(altered.as_bytes()));
    e["entry"] = serde_json::from_str(&altered).unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, e.to_string()).unwrap();
    assert!(failed(&check(&bad)).contains("NOT in the log"));
    // Nor an entry whose readable form was changed while its hashed bytes were kept.
    let mut shown: Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    shown["entry"]["outcome"] = Value::String("denied".into());
    std::fs::write(&bad, shown.to_string()).unwrap();
    assert!(failed(&check(&bad)).contains("not the entry whose bytes are hashed"));
    // Without a pinned key the check still runs, and says what it did not prove.
    let out = datapact(
        &[
            "audit",
            "check-proof",
            "--checkpoint",
            cp.to_str().unwrap(),
            "--inclusion",
            proof.to_str().unwrap(),
            "--entry",
            entry.to_str().unwrap(),
        ],
        &[],
    );
    ok(&out);
    assert!(
        text(&out.stderr).contains("WARNING: no --public-key"),
        "{}",
        text(&out.stderr)
    );

    // Consistency between the saved checkpoint and a newer one (signed at most once a second).
    w.activity(1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let cp2 = tmp.path().join("cp2.json");
    ok(&w
        .s
        .cli(&w.auditor, &["audit", "checkpoint", "--out", cp2.to_str().unwrap()]));
    let size2 = tree_size(&cp2);
    assert!(
        size2.parse::<u64>().unwrap() > size.parse::<u64>().unwrap(),
        "a newer checkpoint"
    );
    let cproof = tmp.path().join("consistency.json");
    ok(&w.s.cli(
        &w.auditor,
        &[
            "audit",
            "proof",
            "--from",
            &size,
            "--tree-size",
            &size2,
            "--out",
            cproof.to_str().unwrap(),
        ],
    ));
    let check_consistency = || {
        datapact(
            &[
                "audit",
                "check-proof",
                "--checkpoint",
                cp2.to_str().unwrap(),
                "--old-checkpoint",
                cp.to_str().unwrap(),
                "--consistency",
                cproof.to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = ok(&check_consistency());
    assert!(out.contains("without changing it"), "{out}");
    // A checkpoint whose signature does not verify is refused, naming the file.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&cp2).unwrap()).unwrap();
    forged["tree_size"] = Value::from(forged["tree_size"].as_u64().unwrap() + 1);
    std::fs::write(&cp2, forged.to_string()).unwrap();
    let out = check_consistency();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cp2.json") && text(&out.stderr).contains("signature"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn query_and_export_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world(&tmp.path().join("d"));
    let table = ok(&w.s.cli(&w.auditor, &["audit", "query", "--action", "decision"]));
    assert!(table.contains("decision") && table.contains("allowed"), "{table}");
    let csv = tmp.path().join("audit.csv");
    let out = w.s.cli(
        &w.auditor,
        &["audit", "export", "--format", "csv", "--out", csv.to_str().unwrap()],
    );
    ok(&out);
    let body = std::fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with("index,time,action"));
    let rows = body.lines().count() - 1;
    assert!(text(&out.stderr).contains(&format!("exported {rows} audit entries")));
    let jsonl = tmp.path().join("audit.jsonl");
    ok(&w
        .s
        .cli_umask_022(&w.auditor, &["audit", "export", "--out", jsonl.to_str().unwrap()]));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&jsonl).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "an audit export names tenants and keys: only its owner may read it"
        );
    }
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The same entries, and the CSV export's own read of the log, which is on the record too.
    assert_eq!(lines.len(), rows + 1);
    assert_eq!(lines.last().unwrap()["entry"]["action"], "audit_read");
    assert!(lines.iter().all(|e| e["entry"]["org"] == w.org.as_str()));
    // Bad filters are named.
    let out = w.s.cli(&w.auditor, &["audit", "query", "--outcome", "perhaps"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("outcome"), "{}", text(&out.stderr));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A database URL that is empty (a secret mounted as an empty variable or file) is named as
/// such, with the flag that read it, instead of a connection-string parse error.
#[test]
fn an_empty_database_url_is_named_with_its_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("url");
    std::fs::write(&file, "  \n").unwrap();
    let out = datapact(
        &["audit", "verify", "--database-url-env", "DATAPACT_TEST_EMPTY_URL"],
        &[("DATAPACT_TEST_EMPTY_URL", "")],
    );
    let msg = failed(&out);
    assert!(msg.contains("--database-url-env") && msg.contains("empty"), "{msg}");
    let out = datapact(
        &[
            "audit",
            "archive",
            "--database-url-file",
            file.to_str().unwrap(),
            "--out",
            tmp.path().to_str().unwrap(),
        ],
        &[],
    );
    let msg = failed(&out);
    assert!(msg.contains("--database-url-file") && msg.contains("empty"), "{msg}");
    // The same for the migration's target.
    let out = datapact(
        &[
            "migrate",
            "--from-sqlite",
            tmp.path().to_str().unwrap(),
            "--to-env",
            "DATAPACT_TEST_EMPTY_URL",
        ],
        &[("DATAPACT_TEST_EMPTY_URL", " ")],
    );
    let msg = failed(&out);
    assert!(msg.contains("--to-env") && msg.contains("empty"), "{msg}");
}
