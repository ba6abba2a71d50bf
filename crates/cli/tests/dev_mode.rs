//! `datapact serve --dev` as a new user runs it: paste the `export` lines it prints, then ask
//! for a decision, write a record and prove its audit entry, and call the AI trust layer with
//! the official `openai` SDK, seeing what the (mock) provider received. Without Python or the
//! package registry the SDK part is skipped, except under `CI=true`, where it fails.

mod common;
#[path = "../../server/tests/common/sdk.rs"]
mod sdk;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::{BIN, datapact, text};

/// A `serve --dev` process and the variables it printed.
struct Dev {
    child: std::process::Child,
    vars: HashMap<String, String>,
    data_dir: std::path::PathBuf,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Dev {
    let mut child = Command::new(BIN)
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .env_remove("DATAPACT_ADMIN_KEY")
        .env("DATAPACT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut vars, mut head, mut data_dir) = (HashMap::new(), String::new(), None);
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "serve --dev exited; printed:\n{head}"
        );
        head.push_str(&line);
        if let Some(rest) = line.strip_prefix("export ") {
            // What a shell keeps of `export NAME=VALUE   # comment`.
            let (name, value) = rest.split_once('=').unwrap();
            let value = value.split_whitespace().next().unwrap_or("");
            vars.insert(name.to_string(), value.to_string());
        }
        if let Some(dir) = line.strip_prefix("WARNING: development mode. The data lives in ") {
            data_dir = dir.split_whitespace().next().map(std::path::PathBuf::from);
        }
        if line.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || {
        let _ = out.read_to_end(&mut Vec::new());
    });
    Dev {
        child,
        vars,
        data_dir: data_dir.expect("the data directory is named"),
    }
}

impl Dev {
    fn cli(&self, args: &[&str]) -> std::process::Output {
        let env: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        datapact(args, &env)
    }
}

/// The README's one-liner.
const README_ONE_LINER: &str = r#"import openai; print(openai.OpenAI().chat.completions.create(model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Write to ann@example.com about invoice 42"}]).choices[0].message.content)"#;

const SCRIPT: &str = r#"
import json, openai
client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
chat = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Please write to ann.lee@example.com about the invoice"}],
)
stream = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Call +44 20 7946 0958 today"}],
    stream=True,
)
streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
print(json.dumps({"chat": chat.choices[0].message.content, "stream": streamed,
                  "models": sorted(m.id for m in client.models.list())}))
"#;

#[test]
fn the_tour_works_right_after_serve_dev() {
    let dev = start();
    for name in [
        "DATAPACT_URL",
        "DATAPACT_KEY",
        "DATAPACT_TENANT",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "DATAPACT_MOCK_URL",
    ] {
        assert!(
            dev.vars.get(name).is_some_and(|v| !v.is_empty()),
            "{name} not printed: {:?}",
            dev.vars
        );
    }
    let tenant = dev.vars["DATAPACT_TENANT"].clone();

    // The README's tour, step by step. A decision with its reasons:
    let out = dev.cli(&[
        "decide",
        "--tenant",
        &tenant,
        "--product",
        "communications-mining",
        "--purpose",
        "vendor_training",
        "--data-kind",
        "design_time",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("ALLOWED vendor_training for communications-mining"),
        "{shown}"
    );
    for code in ["in_region", "training_declared", "no_training_exclusion"] {
        assert!(shown.contains(code), "{code}: {shown}");
    }
    // A record in the vault, written by the product, and the audit proof of its write.
    let service = dev.vars["DATAPACT_SERVICE_KEY"].clone();
    let out = datapact(
        &[
            "record",
            "put",
            "--tenant",
            &tenant,
            "--product",
            "ixp",
            "--data-kind",
            "run_time",
            "--content",
            "Invoice 42 for ann@example.com",
            "-q",
        ],
        &[("DATAPACT_URL", &dev.vars["DATAPACT_URL"]), ("DATAPACT_KEY", &service)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).trim().starts_with("rec_"), "{}", text(&out.stdout));
    let out = dev.cli(&[
        "audit",
        "query",
        "--tenant",
        &tenant,
        "--action",
        "record_write",
        "-o",
        "index",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let n = text(&out.stdout).trim().to_string();
    assert!(n.parse::<u64>().is_ok(), "{n:?}");
    // Checkpoints come every second in development mode: the proof is there within one.
    let mut proved = false;
    for _ in 0..40 {
        let out = dev.cli(&["audit", "proof", "--index", &n, "--json"]);
        if out.status.success() {
            let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(p["index"].to_string(), n);
            proved = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(proved, "no inclusion proof for entry {n}");
    let verified = dev.cli(&["audit", "verify"]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert!(text(&verified.stdout).starts_with("OK: "), "{}", text(&verified.stdout));

    // The AI trust layer with the official SDK, configured by the environment alone.
    let python = sdk::required(
        sdk::sdk_python(),
        "the dev-mode test needs Python and the openai package",
    );
    if let Some(python) = python {
        let out = Command::new(python)
            .args(["-c", SCRIPT])
            .env("OPENAI_BASE_URL", &dev.vars["OPENAI_BASE_URL"])
            .env("OPENAI_API_KEY", &dev.vars["OPENAI_API_KEY"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The README's one-liner, as written there.
        let one = Command::new(sdk::sdk_python().unwrap())
            .args(["-c", README_ONE_LINER])
            .env("OPENAI_BASE_URL", &dev.vars["OPENAI_BASE_URL"])
            .env("OPENAI_API_KEY", &dev.vars["OPENAI_API_KEY"])
            .output()
            .unwrap();
        assert!(one.status.success(), "{}", text(&one.stderr));
        assert_eq!(
            text(&one.stdout).trim(),
            "You said: Write to ann@example.com about invoice 42"
        );
        // The answer comes back with the personal data restored...
        assert_eq!(
            v["chat"],
            "You said: Please write to ann.lee@example.com about the invoice"
        );
        assert_eq!(v["stream"], "You said: Call +44 20 7946 0958 today");
        assert_eq!(
            v["models"],
            serde_json::json!(["gpt-4o-mini", "text-embedding-3-small"])
        );
        // ...while the provider saw placeholders, and was asked to store nothing.
        let seen = get_json(&format!("{}/dev/received", dev.vars["DATAPACT_MOCK_URL"]));
        assert!(
            seen.to_string().contains("Write to <EMAIL_ADDRESS_1> about invoice 42"),
            "{seen}"
        );
        let first = &seen[0];
        assert_eq!(
            first["messages"][0]["content"], "Please write to <EMAIL_ADDRESS_1> about the invoice",
            "{seen}"
        );
        assert_eq!(first["store"], false);
        assert!(!seen.to_string().contains("ann.lee@example.com"), "{seen}");
    }

    // Training data, governed: a dataset of what the vendor may train on, personal data
    // masked; a model trained on it; the customer opts out, and the model owes retraining.
    let admin = dev.vars["DATAPACT_ADMIN_KEY"].clone();
    let as_admin = |args: &[&str]| {
        datapact(
            args,
            &[("DATAPACT_URL", &dev.vars["DATAPACT_URL"]), ("DATAPACT_KEY", &admin)],
        )
    };
    let out = as_admin(&[
        "training",
        "dataset",
        "create",
        "--name",
        "tour",
        "--product",
        "ixp",
        "--purpose",
        "vendor_training",
        "--region",
        "eu",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ds = text(&out.stdout).trim().to_string();
    assert!(ds.starts_with("ds_"), "{ds}");
    let items = dev.data_dir.parent().unwrap().join("tour-items.ndjson");
    let out = as_admin(&["training", "dataset", "export", &ds, "--out", items.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(the manifest's: everything the dataset holds)"),
        "{}",
        text(&out.stdout)
    );
    let exported = std::fs::read_to_string(&items).unwrap();
    assert!(
        exported.contains("\"content\":\"Invoice 42 for <EMAIL_ADDRESS>\""),
        "{exported}"
    );
    assert!(!exported.contains("ann@example.com"), "{exported}");
    let out = as_admin(&[
        "training",
        "model",
        "register",
        "--name",
        "tour-model",
        "--version",
        "1",
        "--product",
        "ixp",
        "--purpose",
        "vendor_training",
        "--region",
        "eu",
        "--dataset",
        &ds,
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = as_admin(&[
        "opt-out",
        "add",
        "--org",
        &dev.vars["DATAPACT_ORG"],
        "--ticket",
        "SUP-1",
        "--requested-by",
        "dpo@acme.example",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = as_admin(&["training", "debt"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("tour-model@1"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("opted_out 1"), "{}", text(&out.stdout));

    // The README's labeling session: a dataset, messages, a model, the teach queue (masked),
    // a prediction; as the customer's org_admin.
    let as_customer = |args: &[&str]| {
        datapact(
            args,
            &[
                ("DATAPACT_URL", &dev.vars["DATAPACT_URL"]),
                ("DATAPACT_KEY", &dev.vars["DATAPACT_KEY"]),
            ],
        )
    };
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let jsonl: String = readme
        .split("$ cat > tour.jsonl <<'EOF'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nEOF\n").next())
        .expect("the README's tour.jsonl")
        .to_string();
    let tour = dev.data_dir.parent().unwrap().join("tour.jsonl");
    std::fs::write(&tour, format!("{jsonl}\n")).unwrap();
    let out = as_customer(&[
        "mining",
        "dataset",
        "create",
        "--tenant",
        &dev.vars["DATAPACT_TENANT"],
        "--name",
        "Inbox",
        "--label",
        "Refund",
        "--label",
        "Login",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mds = text(&out.stdout).trim().to_string();
    assert!(mds.starts_with("mds_"), "{mds}");
    let out = as_customer(&["mining", "upload", "--dataset", &mds, tour.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "10 created, 0 updated, 0 not stored");
    let out = as_customer(&["mining", "train", "--dataset", &mds]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trained = text(&out.stdout);
    for line in [
        "model v1: accuracy 1.000, macro F1 1.000 on 3 held-out messages (5 trained)",
        "rating 54 (average): balance 97, coverage 100, label health 10",
    ] {
        assert!(trained.contains(line), "{trained}");
        assert!(readme.contains(line), "the README shows what the tour prints: {line}");
    }
    let out = as_customer(&["mining", "queue", "--dataset", &mds, "teach"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let queue = text(&out.stdout);
    assert!(queue.contains("<PERSON_1> (<EMAIL_ADDRESS_1>)"), "{queue}");
    assert!(!queue.contains("ann.lee@example.com"), "{queue}");
    let out = as_customer(&[
        "mining",
        "predict",
        "--dataset",
        &mds,
        "please refund the double charge",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Refund 0.97"), "{}", text(&out.stdout));

    // Stopping it takes the data with it.
    let data_dir = dev.data_dir.clone();
    assert!(data_dir.exists());
    let pid = dev.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    for _ in 0..100 {
        if !data_dir.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!data_dir.exists(), "{} was left behind", data_dir.display());
}

#[test]
fn dev_mode_refuses_a_non_loopback_address() {
    let out = datapact(&["serve", "--dev", "--listen", "0.0.0.0:0"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("loopback address only"),
        "{}",
        text(&out.stderr)
    );
}

/// GET of a JSON answer, from a test that has no async runtime of its own.
fn get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}
