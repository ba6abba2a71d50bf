//! The guides in `docs/guide/` run as written: every command of every ```console block is run
//! with `bash` against the real binary, in order, and the output the guide shows must be what the
//! command prints, so a guide cannot drift from the product.
//!
//! How a guide is read:
//! - A line starting with `$ ` is a command; it continues while a line ends with `\` or until
//!   the end of a here-document. The lines after it, up to the next command, are its output.
//! - Output lines must appear in the command's output (stdout and stderr together), in order;
//!   a line `...` (or a table row holding only `...`) stands for lines left out. Runs of spaces
//!   match any run of spaces, so table columns may be as wide as the run makes them.
//! - Values that differ from run to run (ids, keys, timestamps, key ids, hashes and hex digests,
//!   signatures, dataset shard pseudonyms) match
//!   any value of their kind; the value a run printed then replaces the guide's one in every later
//!   command and output, so `--tenant ten_…` uses the tenant the run created. An abbreviated key
//!   (`dpk_5410c4b1...`) is the full key it starts, `dpk_…` the last key printed.
//! - JSON output is compared as JSON (keys sorted, pretty-printed on both sides).
//! - `GUIDES_OVERWRITE=1` writes the outputs that differ into the guide (and this run's values
//!   everywhere), `GUIDES_OVERWRITE=all` the outputs the guide leaves out too, for a maintainer
//!   to trim and review.
//! - `127.0.0.1:8080` and `localhost:8080` are the address of the server this test started.
//! - `$ datapact serve` and `$ datapact serve --dev` are not run: the test starts the server
//!   before the block (on an ephemeral port) and its first lines are the command's output;
//!   `serve --dev`'s `export` lines are applied, as the guide tells a reader to paste them.
//! - A command whose output the guide does not show must succeed (exit 0).
//! - `<!-- check: stop-server -->` before a block stops the server first (for commands that
//!   need it stopped).
//!
//! The governance, vault and audit guides are one session (each continues the one before), the
//! PII guide needs no server, the gateway, training and mining guides run on `serve --dev`.

mod common;
#[path = "../../server/tests/common/sdk.rs"]
mod sdk;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use regex::Regex;

use common::BIN;

/// One command of a guide and the output the guide shows for it.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
    /// Where its output lines are in the file (0-based), for `GUIDES_OVERWRITE=1`.
    out_at: usize,
}

/// One ```console block.
#[derive(Debug)]
struct Block {
    stop_server: bool,
    steps: Vec<Step>,
}

fn parse(md: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut stop_server = false;
    let mut lines = md.lines().enumerate().peekable();
    while let Some((_, line)) = lines.next() {
        if line.trim() == "<!-- check: stop-server -->" {
            stop_server = true;
            continue;
        }
        if line.trim() != "```console" {
            continue;
        }
        let mut block = Block {
            stop_server: std::mem::take(&mut stop_server),
            steps: Vec::new(),
        };
        let mut heredoc: Option<String> = None;
        let mut continued = false;
        for (n, line) in lines.by_ref() {
            if heredoc.is_none() && !continued && line.trim() == "```" {
                break;
            }
            let step = block.steps.last_mut();
            if let Some(end) = &heredoc {
                let step = step.expect("a here-document belongs to a command");
                step.command.push('\n');
                step.command.push_str(line);
                step.out_at = n + 1;
                if line.trim() == end {
                    heredoc = None;
                }
                continue;
            }
            if continued {
                let step = step.expect("a continued line belongs to a command");
                step.command.push('\n');
                step.command.push_str(line);
                step.out_at = n + 1;
            } else if let Some(cmd) = line.strip_prefix("$ ") {
                block.steps.push(Step {
                    line: n + 1,
                    command: cmd.to_string(),
                    expected: Vec::new(),
                    out_at: n + 1,
                });
            } else {
                step.expect("output follows a command").expected.push(line.to_string());
                continue;
            }
            continued = line.ends_with('\\');
            if let Some(at) = line.find("<<'") {
                let rest = &line[at + 3..];
                heredoc = rest.split('\'').next().map(str::to_string);
            }
        }
        blocks.push(block);
    }
    blocks
}

/// Values that change from run to run, each as a pattern for the guide's value and for the run's.
fn volatile() -> Regex {
    Regex::new(concat!(
        r"(?P<id>\b[a-z]+_[0-9a-f]{32}\b)",
        r"|(?P<key>\bdpk_[0-9a-f]{64}\b)",
        r"|(?P<time>\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)",
        r"|(?P<keyid>\bed25519:[0-9a-f]{16}\b)",
        r"|(?P<b64>[A-Za-z0-9+/]{43}=)",
        r"|(?P<sig>[A-Za-z0-9+/]{86}==)",
        r"|(?P<hex>\b[0-9a-f]{64}\b)",
        r"|(?P<shard>\bshard_[0-9a-f]{16}\b)",
    ))
    .expect("the patterns compile")
}

/// A guide's output line as a pattern: its volatile values as groups, spaces as runs of spaces.
fn pattern(line: &str, vol: &Regex) -> (Regex, Vec<Option<String>>) {
    let mut re = String::from("^");
    let mut tokens = Vec::new();
    let mut at = 0;
    let literal = |s: &str| {
        regex::escape(s)
            .split(' ')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" +")
            .to_string()
    };
    for caps in vol.captures_iter(line) {
        let m = caps.get(0).expect("a match");
        let gap = &line[at..m.start()];
        re.push_str(&space_aware(gap, &literal));
        let (kind, learn) = if caps.name("id").is_some() {
            let prefix = m.as_str().split('_').next().unwrap_or("");
            (format!("({prefix}_[0-9a-f]{{32}})"), true)
        } else if caps.name("key").is_some() {
            (r"(dpk_[0-9a-f]{64})".to_string(), true)
        } else if caps.name("time").is_some() {
            (r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)".to_string(), false)
        } else if caps.name("keyid").is_some() {
            (r"(ed25519:[0-9a-f]{16})".to_string(), true)
        } else if caps.name("b64").is_some() {
            (r"([A-Za-z0-9+/]{43}=)".to_string(), true)
        } else if caps.name("hex").is_some() {
            (r"([0-9a-f]{64})".to_string(), true)
        } else if caps.name("shard").is_some() {
            (r"(shard_[0-9a-f]{16})".to_string(), true)
        } else {
            (r"([A-Za-z0-9+/]{86}==)".to_string(), true)
        };
        re.push_str(&kind);
        tokens.push(learn.then(|| m.as_str().to_string()));
        at = m.end();
    }
    re.push_str(&space_aware(&line[at..], &literal));
    re.push('$');
    (Regex::new(&re).expect("an escaped line compiles"), tokens)
}

/// `s` escaped, keeping leading and trailing spaces as runs (table cells sit between values).
fn space_aware(s: &str, literal: &dyn Fn(&str) -> String) -> String {
    let lead = s.len() - s.trim_start_matches(' ').len();
    let trail = s.len() - s.trim_end_matches(' ').len();
    if s.trim().is_empty() {
        return if s.is_empty() { String::new() } else { " +".into() };
    }
    let mut out = String::new();
    if lead > 0 {
        out.push_str(" +");
    }
    out.push_str(&literal(s.trim_matches(' ')));
    if trail > 0 {
        out.push_str(" +");
    }
    out
}

fn elided(line: &str) -> bool {
    let t = line.trim();
    if t == "..." || t == "…" {
        return true;
    }
    // A table row holding only `...`.
    let inner = t.trim_matches(|c| c == '│' || c == '|').replace('┆', " ");
    inner.trim() == "..."
}

/// JSON text, pretty-printed with sorted keys, or `None` if it is not JSON.
fn canonical_json(text: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    if !v.is_object() && !v.is_array() {
        return None;
    }
    let pretty = serde_json::to_string_pretty(&sorted(v)).ok()?;
    Some(pretty.lines().map(str::to_string).collect())
}

/// `v` with every object's keys in order.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let m: BTreeMap<String, serde_json::Value> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(m.into_iter().collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// What a command printed (stdout and stderr together), and whether it succeeded.
struct Ran {
    text: String,
    ok: bool,
}

/// A guide being run: the variables its commands set, what its values became in this run.
struct Session {
    name: String,
    dir: tempfile::TempDir,
    /// Outside the guide's directory, so the guide's commands never see it.
    config_dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// The guide's value → this run's.
    seen: Vec<(String, String)>,
    last_key: Option<String>,
    server: Option<Child>,
    addr: Option<String>,
    vol: Regex,
    failures: Vec<String>,
    ran: usize,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_server();
    }
}

impl Session {
    fn new(name: &str) -> Self {
        let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".to_string(),
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()),
        );
        env.insert("DATAPACT_LOG".into(), "warn".into());
        env.insert("HOME".into(), std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()));
        env.insert("LANG".into(), "C.UTF-8".into());
        Self {
            name: name.to_string(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            config_dir: tempfile::tempdir().expect("a temporary directory"),
            env,
            seen: Vec::new(),
            last_key: None,
            server: None,
            addr: None,
            vol: volatile(),
            failures: Vec::new(),
            ran: 0,
        }
    }

    /// Puts the venv with the official `openai` SDK first on the commands' path (its `bin`
    /// has `python3`).
    fn with_python(&mut self, python: &Path) {
        let bin = python.parent().expect("the venv's bin directory");
        let path = self.env.get("PATH").cloned().unwrap_or_default();
        self.env.insert("PATH".into(), format!("{}:{path}", bin.display()));
    }

    /// The guide's text with this run's values.
    fn subst(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(addr) = &self.addr {
            out = out.replace("127.0.0.1:8080", addr).replace("localhost:8080", addr);
        }
        let mut seen: Vec<&(String, String)> = self.seen.iter().collect();
        seen.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for (from, to) in seen {
            out = out.replace(from.as_str(), to);
        }
        let short = Regex::new(r"dpk_([0-9a-f]*)(?:\.\.\.|…)").expect("compiles");
        short
            .replace_all(&out, |c: &regex::Captures<'_>| {
                let prefix = format!("dpk_{}", &c[1]);
                let known = self
                    .seen
                    .iter()
                    .find(|(from, _)| c[1].len() >= 4 && from.starts_with(&prefix))
                    .map(|(_, to)| to.clone());
                known
                    .or_else(|| self.last_key.clone())
                    .unwrap_or_else(|| c[0].to_string())
            })
            .into_owned()
    }

    fn learn(&mut self, from: &str, to: &str) {
        if from != to && !self.seen.iter().any(|(f, _)| f == from) {
            self.seen.push((from.to_string(), to.to_string()));
        }
    }

    /// Checks `actual` against the guide's `expected` lines, learning the run's values.
    fn check(&mut self, guide: &str, step: &Step, actual: &str) -> bool {
        let expected: Vec<String> = step
            .expected
            .iter()
            .map(|l| self.subst(l))
            .filter(|l| !l.trim().is_empty())
            .collect();
        if expected.is_empty() {
            return true;
        }
        let json = canonical_json(&expected.join("\n")).zip(canonical_json(actual));
        let (expected, actual): (Vec<String>, Vec<String>) = match json {
            Some((e, a)) => (e, a),
            None => (expected, actual.lines().map(|l| l.trim_end().to_string()).collect()),
        };
        let mut cursor = 0;
        for line in expected.iter().filter(|l| !elided(l)) {
            let (re, tokens) = pattern(line.trim_end(), &self.vol);
            let found = actual[cursor..].iter().position(|a| re.is_match(a));
            match found {
                Some(i) => {
                    if let Some(caps) = re.captures(&actual[cursor + i]) {
                        for (k, token) in tokens.iter().enumerate() {
                            if let (Some(from), Some(to)) = (token, caps.get(k + 1)) {
                                self.learn(from, to.as_str());
                            }
                        }
                    }
                    cursor += i + 1;
                }
                None => {
                    // Still learn what the run's values are from the lines that are there, so
                    // one difference does not make every later command fail.
                    for line in expected.iter().filter(|l| !elided(l)) {
                        let (re, tokens) = pattern(line.trim_end(), &self.vol);
                        if let Some(caps) = actual.iter().find_map(|a| re.captures(a)) {
                            for (k, token) in tokens.iter().enumerate() {
                                if let (Some(from), Some(to)) = (token, caps.get(k + 1)) {
                                    self.learn(from, to.as_str());
                                }
                            }
                        }
                    }
                    self.failures.push(format!(
                        "{guide}:{}: `{}`\n  this line of the guide is not in the output (after line {cursor}):\n    {line}\n  the command printed:\n{}",
                        step.line,
                        step.command.lines().next().unwrap_or(""),
                        actual.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
                    ));
                    return false;
                }
            }
        }
        true
    }

    fn stop_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts `datapact serve` (with `args`) on an ephemeral port in the session's directory;
    /// what it printed up to `listening on`.
    ///
    /// A plain `serve` gets a configuration that signs no checkpoint on the clock and serves
    /// the first one signed on request for the rest of the session: the counts the guides
    /// print would otherwise depend on how fast the commands run (a periodic checkpoint, or a
    /// new one served because more than the default one second passed between two commands
    /// on a loaded machine).
    fn start_server(&mut self, args: &[&str]) -> String {
        let mut env = self.env.clone();
        if !args.contains(&"--dev") {
            let config = self.config_dir.path().join("guide.toml");
            std::fs::write(
                &config,
                "[audit]\ncheckpoint_interval_seconds = 86400\ncheckpoint_min_gap_seconds = 86400\n",
            )
            .expect("writes a config");
            env.insert("DATAPACT_CONFIG".into(), config.display().to_string());
        }
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(self.dir.path())
            .env_clear()
            .envs(&env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("datapact serve starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut out = BufReader::new(stdout);
        let mut head = String::new();
        let addr = Regex::new(r"listening on http://([0-9.]+:[0-9]+)").expect("compiles");
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap_or(0);
            assert!(n > 0, "{}: datapact serve exited; it printed:\n{head}", self.name);
            head.push_str(&line);
            if let Some(c) = addr.captures(&line) {
                self.addr = Some(c[1].to_string());
                break;
            }
        }
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        self.server = Some(child);
        let url = format!("http://{}", self.addr.clone().unwrap_or_default());
        self.env.insert("DATAPACT_URL".into(), url);
        head
    }

    /// Runs one guide's blocks.
    fn run(&mut self, guide: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/guide")
            .join(guide);
        let md = std::fs::read_to_string(&path).expect("the guide exists");
        // Outputs that differ, by their place in the file: what `GUIDES_OVERWRITE=1` writes.
        let mut rewrite: Vec<(usize, usize, String)> = Vec::new();
        let full_key = Regex::new(r"dpk_[0-9a-f]{64}").expect("compiles");
        for block in parse(&md) {
            if block.stop_server {
                self.stop_server();
            }
            for step in &block.steps {
                self.ran += 1;
                let actual = self.step(step);
                if let Some(key) = full_key.find_iter(&actual.text).last() {
                    self.last_key = Some(key.as_str().to_string());
                }
                let all = std::env::var("GUIDES_OVERWRITE").as_deref() == Ok("all");
                if !self.check(guide, step, &actual.text)
                    || (all && step.expected.is_empty() && !actual.text.trim().is_empty())
                {
                    rewrite.push((step.out_at, step.expected.len(), actual.text));
                } else if step.expected.is_empty() && !actual.ok {
                    // A command whose output the guide does not show must at least succeed.
                    self.failures.push(format!(
                        "{guide}:{}: `{}` failed; it printed:\n{}",
                        step.line,
                        step.command.lines().next().unwrap_or(""),
                        actual.text
                    ));
                }
            }
        }
        if std::env::var("GUIDES_OVERWRITE").is_ok_and(|v| v == "1" || v == "all") {
            self.overwrite(&path, &md, rewrite);
        }
    }

    /// Rewrites the guide as this run went: its values everywhere, and the outputs that
    /// differed as printed (to be trimmed by hand with `...`), for a maintainer to review.
    fn overwrite(&self, path: &Path, md: &str, mut rewrite: Vec<(usize, usize, String)>) {
        let mut lines: Vec<String> = md.lines().map(str::to_string).collect();
        rewrite.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
        for (at, len, actual) in rewrite {
            let new: Vec<String> = actual.lines().map(|l| l.trim_end().to_string()).collect();
            lines.splice(at..at + len, new);
        }
        let mut text = lines.join("\n") + "\n";
        let mut seen: Vec<&(String, String)> = self.seen.iter().collect();
        seen.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for (from, to) in seen {
            text = text.replace(from.as_str(), to);
            // Abbreviations of a value (`dpk_5410c4b1...`, `org_01a2...`) follow it.
            for cut in [8, 12] {
                if from.len() > cut + 4 && to.len() > cut + 4 {
                    let (f, t) = (&from[..cut], &to[..cut]);
                    text = text.replace(&format!("{f}..."), &format!("{t}..."));
                }
            }
        }
        std::fs::write(path, text).expect("the guide is written");
    }

    fn step(&mut self, step: &Step) -> Ran {
        let command = self.subst(&step.command);
        let words: Vec<&str> = command.split_whitespace().take_while(|w| !w.starts_with('#')).collect();
        if words.first() == Some(&"datapact") && words.get(1) == Some(&"serve") {
            let dev = words.contains(&"--dev");
            let head = self.start_server(if dev { &["--dev"] } else { &[] });
            if dev {
                for line in head.lines() {
                    if let Some((name, value)) = line.strip_prefix("export ").and_then(|r| r.split_once('=')) {
                        let value = value.split_whitespace().next().unwrap_or("");
                        self.env.insert(name.to_string(), value.to_string());
                    }
                }
            }
            return Ran { text: head, ok: true };
        }
        if words.len() == 2
            && words[0] == "export"
            && let Some((name, value)) = words[1].split_once('=')
        {
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            // `export A=$B` takes B's value, as the shell would.
            let value = match value.strip_prefix('$') {
                Some(var) => self
                    .env
                    .get(var.trim_matches(|c| c == '{' || c == '}'))
                    .cloned()
                    .unwrap_or_default(),
                None => value.to_string(),
            };
            self.env.insert(name.to_string(), value);
            return Ran {
                text: String::new(),
                ok: true,
            };
        }
        let out = Command::new("timeout")
            .args(["120", "bash", "-c"])
            .arg(format!("{{\n{command}\n}} 2>&1"))
            .current_dir(self.dir.path())
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null())
            .output()
            .expect("bash runs");
        Ran {
            text: String::from_utf8_lossy(&out.stdout).into_owned(),
            ok: out.status.success(),
        }
    }

    fn finish(self) {
        assert!(self.ran > 0, "{}: no command was run", self.name);
        assert!(
            self.failures.is_empty(),
            "{} of the guide's outputs differ from the product's:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

#[test]
fn the_parser_reads_commands_outputs_and_directives() {
    let md = "text\n<!-- check: stop-server -->\n```console\n$ a \\\n    b\nout 1\n$ python3 - <<'PY'\nprint(1)\nPY\n1\n```\n";
    let blocks = parse(md);
    assert_eq!(blocks.len(), 1);
    assert!(blocks[0].stop_server);
    assert_eq!(blocks[0].steps[0].command, "a \\\n    b");
    assert_eq!(blocks[0].steps[0].expected, vec!["out 1"]);
    assert_eq!(blocks[0].steps[1].command, "python3 - <<'PY'\nprint(1)\nPY");
    assert_eq!(blocks[0].steps[1].expected, vec!["1"]);
}

#[test]
fn a_changed_output_is_caught_and_run_values_are_carried() {
    let mut s = Session::new("unit");
    let step = |expected: &[&str]| Step {
        line: 1,
        command: "x".into(),
        expected: expected.iter().map(|s| s.to_string()).collect(),
        out_at: 1,
    };
    let id = "org_0123456789abcdef0123456789abcdef";
    let run_id = "org_fedcba9876543210fedcba9876543210";
    assert!(s.check(
        "g.md",
        &step(&[&format!("│ id   ┆ {id} │"), "..."]),
        &format!("top\n│ id ┆ {run_id} │\nmore")
    ));
    assert!(s.failures.is_empty(), "{:?}", s.failures);
    assert_eq!(s.subst(&format!("--org {id}")), format!("--org {run_id}"));
    assert!(!s.check("g.md", &step(&["ALLOWED genai"]), "DENIED genai"));
    assert_eq!(s.failures.len(), 1, "a different word is a difference");
    assert!(!s.check("g.md", &step(&["b", "a"]), "a\nb"));
    assert_eq!(s.failures.len(), 2, "order counts");
    let json = s.check("g.md", &step(&["{\"a\": 1,", " \"b\": [2]}"]), "{\"b\":[2],\"a\":1}");
    assert!(json, "JSON is compared as JSON: {:?}", s.failures.last());
}

/// Whether the commands a guide uses besides `datapact` are installed: outside CI a missing one
/// skips the guide (saying so); under `CI=true` it fails the test, so a skip never counts as a
/// pass.
fn tools(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("bash")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("the guides use {} (not installed)", missing.join(", "));
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipped: {why} (set CI=true to make this a failure)");
    false
}

#[test]
fn governance_vault_and_audit_guides_run_as_written() {
    if !tools(&["curl", "sqlite3"]) {
        return;
    }
    let mut s = Session::new("governance, vault, audit");
    s.run("governance.md");
    s.run("vault.md");
    s.run("audit.md");
    s.finish();
}

#[test]
fn pii_guide_runs_as_written() {
    let mut s = Session::new("pii");
    s.run("pii.md");
    s.finish();
}

#[test]
fn training_guide_runs_as_written() {
    let mut s = Session::new("training");
    s.run("training.md");
    s.finish();
}

#[test]
fn mining_guide_runs_as_written() {
    if !tools(&["curl", "python3"]) {
        return;
    }
    let mut s = Session::new("mining");
    s.run("mining.md");
    s.finish();
}

#[test]
fn gateway_guide_runs_as_written() {
    let Some(python) = sdk::required(sdk::sdk_python(), "the gateway guide's OpenAI SDK example") else {
        return;
    };
    if !tools(&["curl"]) {
        return;
    }
    let mut s = Session::new("gateway");
    s.with_python(&python);
    s.run("gateway.md");
    s.finish();
}
