//! Runs a command and reports its peak resident memory: the largest of the process itself
//! and of every child it waited for (wait4's rusage), so a parser subprocess counts too.
//! An optional address-space cap (RLIMIT_AS, what `prlimit --as` sets) makes a memory
//! regression fail fast instead of swapping the machine.
//!
//! The command is forked from a small Python process rather than spawned from the test:
//! Linux carries the peak RSS of the memory image a process replaces across `exec`, and a
//! process spawned straight from this test binary (which holds the model) would report
//! the test's own memory.

use std::{
    io::Read,
    process::{ChildStdin, Command, ExitStatus, Stdio},
};

/// Forks, caps the address space, execs argv[3..] and writes the child's peak RSS (KiB) to
/// argv[1]; exits with the child's status.
const WRAPPER: &str = r#"
import os, resource, sys
out, cap, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    if cap > 0:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
open(out, "w").write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"#;

pub struct Measured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Peak resident set size in MiB.
    pub peak_rss_mib: f64,
}

impl Measured {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        assert!(
            self.status.success(),
            "{:?}: {}",
            self.status,
            self.stderr()
        );
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.stdout)))
    }
}

/// Runs `program` with `args` and `env` to its end, feeding its standard input from `feed`
/// on a thread.
pub fn run(
    program: &str,
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
    address_space_cap: Option<u64>,
    feed: impl FnOnce(ChildStdin) + Send + 'static,
) -> Measured {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("-c")
        .arg(WRAPPER)
        .arg(report.path())
        .arg(address_space_cap.unwrap_or(0).to_string())
        .arg(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("python3 runs (make deps)");
    let stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || feed(stdin));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = child.wait().unwrap();
    // A process that exits early closes the pipe; the feeder then fails to write, which is fine.
    let _ = feeder.join();
    let kib: f64 = std::fs::read_to_string(report.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("no peak RSS reported ({e}), status {status:?}"));
    Measured {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_rss_mib: kib / 1024.0,
    }
}

/// Feeds nothing: standard input is closed at once.
pub fn no_input(_: ChildStdin) {}
