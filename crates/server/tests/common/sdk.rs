//! The official `openai` Python package, pinned, in a virtual environment under the target
//! directory (installed from PyPI on first use). Shared by the server's SDK test and the CLI's
//! development-mode test.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The pinned package and what it pulls in.
const REQUIREMENTS: &[&str] = &[
    "openai==3.51.0",
    "annotated-types==0.8.0",
    "anyio==4.16.0",
    "h11==0.16.0",
    "httpcore2==2.16.2",
    "httpx2==2.16.2",
    "idna==3.20",
    "jiter==0.19.0",
    "pydantic==2.14.4",
    "pydantic_core==2.50.5",
    "sniffio==1.3.1",
    "truststore==0.10.5",
    "typing-inspection==0.4.5",
    "typing_extensions==4.16.0",
];

/// A Python tool a test needs, or `None` to skip the part that needs it: only outside CI. Under
/// `CI=true` a missing tool fails the test (`what` names it), so a skip never counts as a pass.
pub fn required(tool: Result<PathBuf, String>, what: &str) -> Option<PathBuf> {
    match tool {
        Ok(p) => Some(p),
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {why} (set CI=true to make this a failure)");
            None
        }
        Err(why) => panic!("{what}: {why}"),
    }
}

/// A virtual environment under the target directory named `name`, with `requirements` installed
/// (once) and `check` (a Python snippet that exits 0) passing: its python, or why not.
pub fn pinned_venv(name: &str, requirements: &[&str], check: &str) -> Result<PathBuf, String> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let ready = || {
        Command::new(&python)
            .args(["-c", check])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !made.success() {
        return Err("python3 -m venv failed".into());
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(requirements)
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.success() || !ready() {
        return Err(format!("pip could not install the pinned packages of {name}"));
    }
    Ok(python)
}

/// The venv's python with `openai` importable, or why not.
pub fn sdk_python() -> Result<PathBuf, String> {
    pinned_venv(
        "openai-sdk-venv",
        REQUIREMENTS,
        "import openai, sys; sys.exit(0 if openai.__version__ == '3.51.0' else 1)",
    )
}
