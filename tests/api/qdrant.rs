//! One real Qdrant server per test binary: `QDRANT_URL` when it is set, otherwise
//! `../shared/bin/qdrant` (Qdrant 1.18, built from the official source) started on first use
//! on free loopback ports with temporary storage, and stopped when the binary exits (a
//! detached watchdog stops it if the binary is killed). A missing server fails under
//! `CI=true`; on a developer's machine the Qdrant tests skip and say why.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use crate::helpers::free_port;

struct Server {
    /// gRPC endpoint for qdrant-client.
    url: String,
    pid: Option<u32>,
    dir: Option<PathBuf>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

extern "C" fn stop_at_exit() {
    if let Some(Ok(Server {
        pid: Some(pid),
        dir,
        ..
    })) = SERVER.get()
    {
        // SAFETY: sends a signal to the child this binary started.
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var("QDRANT_URL") {
        return Ok(Server {
            url,
            pid: None,
            dir: None,
        });
    }
    let bin = crate::helpers::repo().join("../shared/bin/qdrant");
    if !bin.exists() {
        return Err(format!(
            "no Qdrant server: QDRANT_URL is unset and {} is missing",
            bin.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("anliegen-qdrant-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    // SAFETY: registers a plain function; it runs once at process exit.
    unsafe { libc::atexit(stop_at_exit) };
    // The ports were free a moment ago; another process may take one first, and Qdrant
    // then exits: start again on others.
    for _ in 0..5 {
        match launch(&bin, &dir)? {
            Launch::Ready(server) => return Ok(server),
            Launch::PortTaken => continue,
        }
    }
    Err("Qdrant found no free ports in five attempts".into())
}

enum Launch {
    Ready(Server),
    PortTaken,
}

/// Starts Qdrant in `dir` on two free ports and waits until it is ready.
fn launch(bin: &std::path::Path, dir: &std::path::Path) -> Result<Launch, String> {
    let (http, grpc) = (free_port(), free_port());
    let log = std::fs::File::create(dir.join("qdrant.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(bin)
        .current_dir(dir)
        .env("QDRANT__STORAGE__STORAGE_PATH", dir.join("storage"))
        .env("QDRANT__STORAGE__SNAPSHOTS_PATH", dir.join("snapshots"))
        .env("QDRANT__SERVICE__HOST", "127.0.0.1")
        .env("QDRANT__SERVICE__HTTP_PORT", http.to_string())
        .env("QDRANT__SERVICE__GRPC_PORT", grpc.to_string())
        .env("QDRANT__TELEMETRY_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pid = child.id();
    let watchdog = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -9 {pid}; rm -rf {dir}",
        me = std::process::id(),
        dir = dir.display()
    );
    let mut guard = Command::new("setsid")
        .args(["sh", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the Qdrant watchdog: {e}"))?;
    // Ready when the REST endpoint answers /readyz with 200.
    for _ in 0..300 {
        if let Ok(Some(_)) = child.try_wait() {
            let text = std::fs::read_to_string(dir.join("qdrant.log")).unwrap_or_default();
            if text.contains("in use") {
                let _ = guard.kill();
                let _ = guard.wait();
                return Ok(Launch::PortTaken);
            }
            return Err(format!("Qdrant exited at start: {text}"));
        }
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", http)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return Ok(Launch::Ready(Server {
                    url: format!("http://127.0.0.1:{grpc}"),
                    pid: Some(pid),
                    dir: Some(dir.to_path_buf()),
                }));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "Qdrant did not become ready: {}",
        std::fs::read_to_string(dir.join("qdrant.log")).unwrap_or_default()
    ))
}

/// The gRPC URL of the test binary's Qdrant server, or `None` on a developer's machine
/// without one (after printing why). Under `CI=true` a missing server is a failure.
pub fn url() -> Option<String> {
    match SERVER.get_or_init(start) {
        Ok(s) => Some(s.url.clone()),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Qdrant is required under CI=true: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}
