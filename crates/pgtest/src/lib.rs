//! A throwaway PostgreSQL cluster for tests, so every suite that runs on PostgreSQL runs on a
//! real server: `initdb` in a temporary directory, started on a free loopback port, stopped
//! (immediately) when dropped.
//!
//! The server binaries come from the distribution's packages (`pg_config --bindir`, or
//! `/usr/lib/postgresql/*/bin`). Without them [`Cluster::start`] returns `None` and says so on
//! stderr, except under `CI=true`, where it panics: CI installs PostgreSQL, and a suite that
//! silently skipped its PostgreSQL half would pass without testing it.
//!
//! PostgreSQL refuses to run as root; when the tests run as root the binaries run as the
//! `postgres` user (`runuser`), which the distribution's package creates.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// A running throwaway cluster, stopped when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn bin_dir() -> Option<PathBuf> {
        let from_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let candidates = from_config.into_iter().chain(
            std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin")),
        );
        candidates.into_iter().find(|b| b.join("initdb").exists())
    }

    /// Runs one of the server's binaries, as the `postgres` user when this process is root.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        match cmd.args(args).output() {
            Ok(o) => o,
            Err(e) => panic!("cannot run PostgreSQL's {tool}: {e}"),
        }
    }

    /// Creates and starts a cluster; `None` (with a note on stderr) where PostgreSQL is not
    /// installed, a panic instead under `CI=true`.
    pub fn start() -> Option<Self> {
        let Some(bin) = Self::bin_dir() else {
            let why = "PostgreSQL's server binaries are not installed (apt-get install postgresql)";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("skipped the PostgreSQL backend: {why} (set CI=true to make this a failure)");
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().expect("a temporary directory");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of the cluster directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = cluster.data();
        let init = cluster.run("initdb", &["-D", &data, "--auth=trust", "-U", "postgres", "--no-sync"]);
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        cluster.start_server();
        Some(cluster)
    }

    /// One cluster for the whole test process, started on first use. A static is never
    /// dropped, so a watchdog process stops the cluster (and removes its directory) once this
    /// process has exited, however it exits.
    pub fn shared() -> Option<&'static Cluster> {
        static SHARED: std::sync::OnceLock<Option<Cluster>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                let cluster = Self::start()?;
                cluster.watch_over(std::process::id());
                Some(cluster)
            })
            .as_ref()
    }

    /// Starts a shell that waits for process `pid` to end, then stops this cluster and
    /// removes its directory.
    fn watch_over(&self, pid: u32) {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!("{} -D {} -m immediate -w stop", pg_ctl.display(), self.data());
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.path().display()
        );
        if let Err(e) = Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            eprintln!("cannot start the watchdog of the shared PostgreSQL cluster: {e}");
        }
    }

    fn start_server(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=1000",
            self.port,
            self.dir.path().display()
        );
        let log = self.log();
        let data = self.data();
        let started = self.run("pg_ctl", &["-D", &data, "-w", "-l", &log, "-o", &opts, "start"]);
        assert!(
            started.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server at once (as a crash would: `-m immediate`), keeping its data.
    pub fn stop(&self) {
        let data = self.data();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// Starts the server again after [`Cluster::stop`], on the same port and data.
    pub fn restart(&self) {
        self.start_server();
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.path().display())
    }

    fn log(&self) -> String {
        format!("{}/log", self.dir.path().display())
    }

    /// The cluster's data directory (tests that search what reached the disk read it).
    pub fn data_path(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection string for database `db` (`key=value` form, as tokio-postgres and libpq
    /// read it).
    pub fn url(&self, db: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname={db}", self.port)
    }

    /// Creates a new, empty database and returns its connection string.
    pub async fn database(&self, name: &str) -> String {
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connects to the cluster");
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("creates a database");
        drop(client);
        let _ = task.await;
        self.url(name)
    }

    /// Runs SQL on database `db` (for tests that reach behind the code under test).
    pub async fn sql(&self, db_url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
        let (client, conn) = tokio_postgres::connect(db_url, tokio_postgres::NoTls).await?;
        let task = tokio::spawn(conn);
        let out = client.batch_execute(sql).await;
        drop(client);
        let _ = task.await;
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
