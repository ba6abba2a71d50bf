//! The `datapact` binary as a user runs it: a served process on an ephemeral port and CLI calls.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_datapact");

pub fn datapact(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("DATAPACT_KEY")
        .env_remove("DATAPACT_URL")
        .env_remove("DATAPACT_ADMIN_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A `datapact serve` process on an ephemeral port.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub stdout_head: String,
}

impl Served {
    // The child is moved into `Served`, whose `Drop` kills and waits for it.
    #[allow(clippy::zombie_processes)]
    pub fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra);
        cmd.env_remove("DATAPACT_ADMIN_KEY").env("DATAPACT_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let status = child.wait();
                panic!("server exited early ({status:?}); printed:\n{head}");
            }
            head.push_str(&line);
            if let Some(addr) = line.trim().strip_prefix("datapact listening on ") {
                // Keep draining stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || {
                    let _ = out.read_to_end(&mut Vec::new());
                });
                return Self {
                    child,
                    url: addr.to_string(),
                    stdout_head: head,
                };
            }
        }
    }

    pub fn cli(&self, key: &str, args: &[&str]) -> Output {
        datapact(args, &[("DATAPACT_URL", &self.url), ("DATAPACT_KEY", key)])
    }

    /// The CLI run with a permissive umask (022), as in many users' shells: the files it
    /// writes must be private anyway when they hold customer data.
    pub fn cli_umask_022(&self, key: &str, args: &[&str]) -> Output {
        Command::new("sh")
            .args(["-c", "umask 022 && exec \"$0\" \"$@\"", BIN])
            .args(args)
            .env_remove("DATAPACT_ADMIN_KEY")
            .env("DATAPACT_URL", &self.url)
            .env("DATAPACT_KEY", key)
            .output()
            .unwrap()
    }

    pub fn json(&self, key: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(key, &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
