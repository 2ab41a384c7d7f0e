//! Real mail servers for the tests: Dovecot (IMAP) with a temporary config and Maildir,
//! and aiosmtpd as an SMTP sink delivering into a Maildir. Both listen on free loopback
//! ports and stop on drop. If one cannot start the test fails and says why (`make deps`
//! installs them).

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::helpers::free_port;

pub const USER: &str = "buergerservice";
pub const PASSWORD: &str = "geheim";

fn wait_for_port(port: u16, what: &str, log: &Path) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{what} did not start on port {port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn vmail_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "vmail"])
            .output()
            .expect("`id` runs");
        assert!(
            out.status.success(),
            "system user vmail is missing: run `make deps` (.ci/install-deps) as root"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

pub struct Dovecot {
    pub dir: tempfile::TempDir,
    conf: PathBuf,
    pub port: u16,
}

impl Dovecot {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's mail processes run as vmail and must reach the home below.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (uid, gid) = vmail_ids();
        let home = root.join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        std::fs::write(root.join("password"), format!("{PASSWORD}\n")).unwrap();
        let r = root.display();
        let conf = root.join("dovecot.conf");
        // The port was free a moment ago; when another process took it first, dovecot
        // cannot bind it and is started again on another.
        let mut attempt = 0;
        let port = loop {
            let port = free_port();
            std::fs::write(
                &conf,
                format!(
                    "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/state\n\
                     log_path = {r}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
                     auth_mechanisms = plain login\nmail_location = maildir:~/Maildir\n\
                     passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
                     userdb {{\n  driver = static\n  args = uid=vmail gid=vmail home={r}/home/%u\n}}\n\
                     service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
                     inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
                ),
            )
            .unwrap();
            // Dovecot's log process keeps the starter's stderr open for as long as it runs:
            // a pipe would never reach its end, so the starter writes into a file.
            let stderr_path = root.join("dovecot.stderr");
            let stderr = std::fs::File::create(&stderr_path).unwrap();
            let started = Command::new("dovecot")
                .arg("-c")
                .arg(&conf)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(stderr)
                .status()
                .unwrap_or_else(|e| panic!("dovecot cannot start ({e}): run `make deps`"));
            if started.success() {
                break port;
            }
            let why = format!(
                "{}{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default()
            );
            assert!(
                why.contains("in use") && attempt < 4,
                "dovecot -c {} failed: {why}",
                conf.display()
            );
            attempt += 1;
        };
        wait_for_port(port, "dovecot", &root.join("dovecot.log"));
        Self { dir, conf, port }
    }

    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    /// Puts a message into `USER`'s INBOX as an MTA would.
    pub fn deliver(&self, raw: &[u8]) {
        use std::io::Write;
        let mut child = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(["save", "-u", USER, "-m", "INBOX"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("doveadm runs");
        child.stdin.take().unwrap().write_all(raw).unwrap();
        assert!(child.wait().unwrap().success(), "doveadm save failed");
    }

    /// Messages in a folder ("INBOX" or a Maildir++ subfolder name).
    pub fn count(&self, folder: &str) -> usize {
        let maildir = self.dir.path().join("home").join(USER).join("Maildir");
        let base = if folder == "INBOX" {
            maildir
        } else {
            maildir.join(format!(".{folder}"))
        };
        ["cur", "new"]
            .iter()
            .map(|d| std::fs::read_dir(base.join(d)).map_or(0, |r| r.count()))
            .sum()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .status();
    }
}

/// aiosmtpd delivering every message into `dir/Maildir`.
pub struct SmtpSink {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub port: u16,
}

impl SmtpSink {
    /// A running sink on a free port. The port was free a moment ago; when another process
    /// took it first, the sink cannot bind it and is started again on another.
    pub fn start() -> Self {
        for _ in 0..5 {
            let mut sink = Self::stopped(free_port());
            if sink.try_run() {
                return sink;
            }
        }
        panic!("aiosmtpd found no free port in five attempts");
    }

    /// A sink whose port is reserved but nothing listens yet (see [`SmtpSink::run`]).
    pub fn stopped(port: u16) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            child: None,
            port,
        }
    }

    /// Starts the sink on its port; panics when it cannot.
    pub fn run(&mut self) {
        assert!(self.try_run(), "aiosmtpd: port {} is taken", self.port);
    }

    /// Starts the sink on its port; false when another process holds the port.
    fn try_run(&mut self) -> bool {
        let log = self.dir.path().join("smtp.log");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.dir.path().join("Maildir"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("aiosmtpd cannot start ({e}): run `make deps`"));
        let child = self.child.insert(child);
        // Listening when the port greets as an SMTP server and the sink still runs (a
        // process that held the port before would answer the connection, too).
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                assert!(
                    text.contains("in use"),
                    "aiosmtpd exited with {status}: {text}"
                );
                self.child = None;
                return false;
            }
            if smtp_greets(self.port) && child.try_wait().unwrap().is_none() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "aiosmtpd did not start on port {}: {}",
            self.port,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("Maildir/new");
        let mut files: Vec<_> = std::fs::read_dir(new)
            .map(|r| r.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether something on `port` greets like an SMTP server (`220 …`).
fn smtp_greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = [0u8; 4];
    stream.read_exact(&mut greeting).is_ok() && greeting.starts_with(b"220")
}

/// The text body of a raw message, decoded.
pub fn body_text(raw: &str) -> String {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_else(|| panic!("no text body: {raw}"))
}

/// The value of header `name` in a raw message (first occurrence, unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let raw = raw.replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap_or(&raw);
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
}
