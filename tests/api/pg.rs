//! One PostgreSQL 15 cluster per test binary, started on first use: `initdb` and `pg_ctl` as
//! user postgres (initdb refuses root) in a temporary directory, listening on 127.0.0.1 at a
//! free port with its socket in that directory. Each test gets a fresh database. The cluster
//! is stopped when the binary exits (`atexit`), and a detached watchdog stops it if the
//! binary is killed. No PostgreSQL is a failure, not a skip: `.ci/install-deps` installs it.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use anliegen::store::Store;

const BIN: &str = "/usr/lib/postgresql/15/bin";

struct Cluster {
    dir: PathBuf,
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn as_postgres(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run runuser {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn stop(dir: &Path) {
    let data = dir.join("data");
    let _ = as_postgres(
        "pg_ctl",
        &[
            "-D",
            data.to_str().unwrap(),
            "stop",
            "-m",
            "immediate",
            "-w",
        ],
    );
    let _ = std::fs::remove_dir_all(dir);
}

extern "C" fn stop_at_exit() {
    if let Some(c) = CLUSTER.get() {
        stop(&c.dir);
    }
}

fn start() -> Result<Cluster, String> {
    if !Path::new(BIN).join("initdb").exists() {
        return Err(format!("{BIN}/initdb not found; run .ci/install-deps"));
    }
    let dir = tempfile::Builder::new()
        .prefix("anliegen-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let chown = Command::new("chown")
        .args(["postgres:postgres", dir.to_str().unwrap()])
        .status()
        .map_err(|e| e.to_string())?;
    if !chown.success() {
        return Err(format!("cannot hand {} to user postgres", dir.display()));
    }
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();
    as_postgres(
        "initdb",
        &[
            "-D",
            data_s,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    // Durability of PostgreSQL itself is not under test (the crash tests kill anliegen).
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
         -c fsync=off -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    let log = dir.join("postgres.log");
    let started = as_postgres(
        "pg_ctl",
        &[
            "-D",
            data_s,
            "-l",
            log.to_str().unwrap(),
            "-o",
            &options,
            "-w",
            "-t",
            "60",
            "start",
        ],
    );
    // SAFETY: registers a plain function; it runs once at process exit.
    unsafe { libc::atexit(stop_at_exit) };
    // If this binary is killed, nothing runs at exit: a detached shell waits for it to go.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         runuser -u postgres -- {BIN}/pg_ctl -D {data_s} stop -m immediate; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog: {e}"))?;
    if let Err(e) = started {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!("{e}\n{log}"));
    }
    Ok(Cluster { dir, port })
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        start().unwrap_or_else(|e| panic!("PostgreSQL 15 could not be started for the tests: {e}"))
    })
}

/// A fresh, empty database on the shared cluster; returns its URL.
pub async fn database() -> String {
    let c = cluster();
    let name = format!("t_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", c.port);
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to the test cluster");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    format!("postgres://postgres@127.0.0.1:{}/{name}", c.port)
}

/// A store on a fresh database, with its URL for direct SQL.
pub async fn store() -> (Store, String) {
    let url = database().await;
    (
        Store::open(&url).await.expect("open the PostgreSQL store"),
        url,
    )
}
