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

#[test]
fn custom_recognizers_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[recognizers]]\nentity = \"EMPLOYEE_ID\"\npattern = '\\bEMP-\\d{6}\\b'\ncontext = [\"employee\"]\nscore = 0.4\n\n\
         [[recognizers]]\nentity = \"PROJECT\"\ndeny_list = [\"Bluebird\"]\n",
    )
    .unwrap();
    let path = rules.to_str().unwrap();
    let out = pii(
        &["scan", "--recognizers", path, "--entities", "EMPLOYEE_ID,PROJECT"],
        // A paragraph apart: context does not cross a blank line.
        b"employee EMP-123456 on Bluebird\n\nid EMP-654321\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.contains("EMPLOYEE_ID\t0.75\tEMP-123456"), "{listing}");
    assert!(listing.contains("PROJECT\t1.00\tBluebird"), "{listing}");
    assert!(
        !listing.contains("EMP-654321"),
        "no context, below the threshold: {listing}"
    );

    std::fs::write(&rules, "[[recognizers]]\nentity = \"A\"\npattern = '('\n").unwrap();
    let out = pii(&["scan", "--recognizers", path], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("rules.toml: recognizers[0].pattern"), "{err}");
}

#[test]
fn corpus_scan_and_score_line_up() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = pii(&["corpus", "--samples", "60", "--seed", "9"], b"");
    assert!(corpus.status.success());
    let gold = dir.path().join("gold.jsonl");
    std::fs::write(&gold, &corpus.stdout).unwrap();
    let first: Value = serde_json::from_str(text(&corpus.stdout).lines().next().unwrap()).unwrap();
    assert!(first["text"].is_string() && first["spans"].is_array());

    let scan = pii(&["scan", "--jsonl", gold.to_str().unwrap()], b"");
    assert!(scan.status.success(), "{}", text(&scan.stderr));
    assert_eq!(text(&scan.stdout).lines().count(), 60, "one output line per input line");
    let predicted = dir.path().join("pred.jsonl");
    std::fs::write(&predicted, &scan.stdout).unwrap();

    let score = pii(
        &["score", gold.to_str().unwrap(), predicted.to_str().unwrap(), "--json"],
        b"",
    );
    assert!(score.status.success(), "{}", text(&score.stderr));
    let v: Value = serde_json::from_str(&text(&score.stdout)).unwrap();
    assert!(v["EMAIL_ADDRESS"]["f1"].as_f64().unwrap() > 0.95, "{v}");
    assert!(v["PERSON"]["labeled"].as_u64().unwrap() > 0, "{v}");

    // Outputs that do not line up with the corpus are refused, naming both files.
    std::fs::write(&predicted, "{\"spans\":[]}\n").unwrap();
    let score = pii(&["score", gold.to_str().unwrap(), predicted.to_str().unwrap()], b"");
    assert_eq!(score.status.code(), Some(1));
    assert!(
        text(&score.stderr).contains("has 60 lines but"),
        "{}",
        text(&score.stderr)
    );
    std::fs::write(&predicted, "{\"spans\":[{\"start\":3}]}\n").unwrap();
    let score = pii(&["score", gold.to_str().unwrap(), predicted.to_str().unwrap()], b"");
    assert!(
        text(&score.stderr).contains("line 1: spans[0].end"),
        "{}",
        text(&score.stderr)
    );
}

#[test]
fn mask_changes_only_the_text_and_keeps_line_endings() {
    let input = b"{\"z\":1,\"id\":123456789012345678901234,\"text\":\"mail ann@example.com\",\"f\":1.10}\r\n{\"text\":\"plain\"}\n";
    let out = pii(&["mask", "--jsonl"], &input[..]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = text(&out.stdout);
    assert_eq!(
        body.lines().next().unwrap(),
        "{\"z\":1,\"id\":123456789012345678901234,\"text\":\"mail <EMAIL_ADDRESS>\",\"f\":1.10}"
    );
    assert!(body.ends_with("}\r\n{\"text\":\"plain\"}\n"), "{body:?}");
    let out = pii(&["mask"], b"a ann@example.com\r\nno newline at the end");
    assert_eq!(text(&out.stdout), "a <EMAIL_ADDRESS>\r\nno newline at the end");
}

#[test]
fn phone_regions_and_score_inputs_are_checked() {
    let out = pii(&["scan", "--phone-regions", "US,UK"], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the United Kingdom is GB"),
        "{}",
        text(&out.stderr)
    );
    let out = pii(&["scan", "--phone-regions", "de, gb"], b"call 030 1234 5678\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("PHONE_NUMBER"));
    // By default, the national formats of the countries of the seven languages count, as the
    // library's and the gateway's default does (a Spanish, an Italian, a Portuguese number).
    let out = pii(
        &["scan"],
        b"contacte con Jordi (957 812 138)\nNota: non risponde al 011 490 0804\natraves do 21 650 8487.\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).matches("PHONE_NUMBER").count(),
        3,
        "{}",
        text(&out.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    let gold = dir.path().join("gold.jsonl");
    std::fs::write(&gold, "{\"text\":\"abc\",\"spans\":[]}\n").unwrap();
    let pred = dir.path().join("pred.jsonl");
    std::fs::write(
        &pred,
        "{\"spans\":[{\"start\":0,\"end\":3000000000000,\"type\":\"X\"}]}\n",
    )
    .unwrap();
    let (g, p) = (gold.to_str().unwrap(), pred.to_str().unwrap());
    let out = pii(&["score", g, p], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("past the text's 3 characters"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        &pred,
        "{\"spans\":[{\"start\":0,\"end\":1,\"type\":\"X\",\"score\":\"hi\"}]}\n",
    )
    .unwrap();
    let out = pii(&["score", g, p], b"");
    assert!(text(&out.stderr).contains("spans[0].score"), "{}", text(&out.stderr));
    let out = pii(&["score", g, p, "--min-score", "5"], b"");
    assert!(text(&out.stderr).contains("--min-score must be between 0 and 1"));
    std::fs::write(&pred, b"{\"spans\":[]}\n\xff\n").unwrap();
    let out = pii(&["score", g, p], b"");
    assert!(
        text(&out.stderr).contains("line 2: invalid UTF-8 at byte 13"),
        "{}",
        text(&out.stderr)
    );
}

/// Text is read a paragraph at a time: an address's postcode on the next line and a name below
/// its sign-off keep their context; the listing places each span on its own line, and masking
/// keeps the input's lines and endings.
#[test]
fn text_is_scanned_and_masked_a_paragraph_at_a_time() {
    let input = "Anschrift:\nHauptstraße 5\n10115 Berlin\n\nCordiali saluti,\r\nGiulia\n";
    let out = pii(&["scan"], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("2:1\tSTREET_ADDRESS\t0.92\tHauptstraße 5\\n10115 Berlin\n"),
        "{listing}"
    );
    assert!(listing.contains("6:1\tPERSON\t0.85\tGiulia\n"), "{listing}");
    let out = pii(&["mask"], input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Anschrift:\n<STREET_ADDRESS>\n<STREET_ADDRESS>\n\nCordiali saluti,\r\n<PERSON>\n"
    );
}
