//! `datapact pii` as a user runs it: scan and mask over standard input and files.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{BIN, text};
use serde_json::Value;

fn pii(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .arg("pii")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn jsonl_scan_gives_code_point_offsets() {
    let input = "{\"text\": \"Grüße an joerg@example.de, Karte 4111 1111 1111 1111\"}\n{\"text\": \"nothing here\"}\n";
    let out = pii(&["scan", "--jsonl", "--field", "text"], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one output line per input line");
    let source: Vec<char> = "Grüße an joerg@example.de, Karte 4111 1111 1111 1111".chars().collect();
    let spans = lines[0]["spans"].as_array().unwrap();
    let got: Vec<(String, String)> = spans
        .iter()
        .map(|s| {
            let (a, b) = (
                s["start"].as_u64().unwrap() as usize,
                s["end"].as_u64().unwrap() as usize,
            );
            (s["type"].as_str().unwrap().to_string(), source[a..b].iter().collect())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("EMAIL_ADDRESS".to_string(), "joerg@example.de".to_string()),
            ("CREDIT_CARD".to_string(), "4111 1111 1111 1111".to_string())
        ]
    );
    assert_eq!(lines[1]["spans"], serde_json::json!([]));
}

#[test]
fn mask_operators_and_consistent_pseudonyms() {
    let input = b"ann@example.com wrote to bob@example.org\ncc ann@example.com, SSN 536-22-1234\n";
    let out = pii(&["mask", "--operator", "pseudonymize"], input);
    assert_eq!(
        text(&out.stdout),
        "<EMAIL_ADDRESS_1> wrote to <EMAIL_ADDRESS_2>\ncc <EMAIL_ADDRESS_1>, SSN <US_SSN_1>\n"
    );
    let out = pii(&["mask"], input);
    assert!(text(&out.stdout).starts_with("<EMAIL_ADDRESS> wrote to <EMAIL_ADDRESS>"));
    let out = pii(&["mask", "--operator", "hash"], input);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--hash-key"), "{}", text(&out.stderr));
    let out = pii(
        &["mask", "--operator", "hash", "--hash-key", "tenant-key-0123456789"],
        input,
    );
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("<EMAIL_ADDRESS:") && !text(&out.stdout).contains("ann@"));

    // Encrypted spans come back with the key, and only with it.
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let out = pii(&["mask", "--operator", "encrypt", "--encrypt-key", key], input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("ann@"));
    let back = pii(&["reveal", "--encrypt-key", key], &out.stdout);
    assert_eq!(text(&back.stdout).as_bytes(), input);
    let other = "HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let wrong = pii(&["reveal", "--encrypt-key", other], &out.stdout);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("line 1: an encrypted EMAIL_ADDRESS"),
        "{}",
        text(&wrong.stderr)
    );
    let short = pii(&["mask", "--operator", "encrypt", "--encrypt-key", "c2hvcnQ="], input);
    assert!(text(&short.stderr).contains("32 bytes"));
}

#[test]
fn bad_input_is_named() {
    let out = pii(&["scan"], b"fine\nbroken \xff here\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 2: invalid UTF-8 at byte 12"),
        "{}",
        text(&out.stderr)
    );
    let out = pii(&["scan", "--lossy"], b"fine\nbroken \xff here\n");
    assert!(out.status.success());
    let out = pii(&["scan", "--jsonl"], b"{\"body\": \"x\"}\n");
    assert!(
        text(&out.stderr).contains("line 1: no string field `text`"),
        "{}",
        text(&out.stderr)
    );
    let out = pii(&["scan", "--entities", "EMAIL"], b"x\n");
    assert!(text(&out.stderr).contains("unknown entity type `EMAIL`"));
    let out = pii(&["scan", "/does/not/exist"], b"");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/does/not/exist"));
    let out = pii(&["scan"], b"");
    assert!(out.status.success() && out.stdout.is_empty(), "empty input, no spans");
}
