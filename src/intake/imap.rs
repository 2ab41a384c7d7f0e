//! The IMAP poller: one task per configured mailbox. On every (re)connect it processes
//! every message not yet marked, then waits with IDLE when the server offers it (polling
//! otherwise). A message is marked processed — moved to `processed_folder` or given
//! `processed_flag` — only after its record is committed; a crash in between makes the next
//! run fetch it again, and the dedup key turns that into a no-op before it is marked.
//! A message the parser crashes on stays unmarked and the poller goes on with the next; it
//! is tried again on the next poll and quarantined (then marked) after
//! `mail.parse.quarantine_after` crashes, so a poison message cannot stop the mailbox.

use std::{fmt, sync::Arc, time::Duration};

use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    task::JoinHandle,
};
use tokio_rustls::{TlsConnector, rustls};

use super::{IntakeError, Recorded, Taken, TriageQueue, parser::MailParser, take_in};
use crate::{
    config::{Config, ImapConfig, MailSecurity},
    store::{Committed, Store},
};

/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}
type Conn = Box<dyn Io>;

/// Starts one poller per `[[mail.imap]]` mailbox. Passwords are read here, so a missing
/// one fails the start instead of a later reconnect. The triage stage is nudged when new
/// inquiries were committed.
pub fn spawn_pollers(
    config: &Arc<Config>,
    store: &Store,
    triage: &Arc<dyn TriageQueue>,
) -> Result<Vec<JoinHandle<()>>, IntakeError> {
    let mut tasks = Vec::new();
    for mailbox in &config.mail.imap {
        let poller = Poller {
            password: mailbox.password()?.unwrap_or_default(),
            mailbox: mailbox.clone(),
            store: store.clone(),
            triage: triage.clone(),
            parser: MailParser::from_config(&config.mail),
        };
        tasks.push(tokio::spawn(poller.run()));
    }
    Ok(tasks)
}

struct Poller {
    mailbox: ImapConfig,
    password: SecretString,
    store: Store,
    triage: Arc<dyn TriageQueue>,
    parser: MailParser,
}

impl Poller {
    async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            if let Err(e) = self.session(&mut backoff).await {
                tracing::warn!(mailbox = %self.mailbox.name, error = %e,
                    retry_in_s = backoff.as_secs(), "IMAP session ended; reconnecting");
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn err(&self, message: impl fmt::Display) -> IntakeError {
        IntakeError::Imap {
            mailbox: self.mailbox.name.clone(),
            message: message.to_string(),
        }
    }

    /// One connection: process what is waiting, then wait for more, until an error.
    async fn session(&self, backoff: &mut Duration) -> Result<(), IntakeError> {
        let mut session = self.connect().await?;
        *backoff = Duration::from_secs(1);
        let m = &self.mailbox;
        let caps = session.capabilities().await.map_err(|e| self.err(e))?;
        let (can_idle, can_move, uidplus) = (
            caps.has_str("IDLE"),
            caps.has_str("MOVE"),
            caps.has_str("UIDPLUS"),
        );
        drop(caps);
        if let Some(folder) = &m.processed_folder {
            // Fails harmlessly when the folder exists; a real problem shows on the first move.
            let _ = session.create(folder).await;
        }
        session.select(&m.folder).await.map_err(|e| self.err(e))?;
        tracing::info!(mailbox = %m.name, idle = can_idle, "IMAP mailbox connected");
        let wait = Duration::from_secs(m.poll_seconds.max(1));
        loop {
            let marks = Marks { can_move, uidplus };
            if self.process_waiting(&mut session, marks).await? > 0 {
                self.triage.nudge();
            }
            if can_idle {
                let mut idle = session.idle();
                idle.init().await.map_err(|e| self.err(e))?;
                let (done, _stop) = idle.wait_with_timeout(wait);
                done.await.map_err(|e| self.err(e))?;
                session = idle.done().await.map_err(|e| self.err(e))?;
            } else {
                tokio::time::sleep(wait).await;
                session.noop().await.map_err(|e| self.err(e))?;
            }
        }
    }

    async fn connect(&self) -> Result<Session<Conn>, IntakeError> {
        let m = &self.mailbox;
        let tcp = TcpStream::connect((m.host.as_str(), m.port))
            .await
            .map_err(|e| self.err(format!("connecting to {}:{}: {e}", m.host, m.port)))?;
        let client = match m.security {
            MailSecurity::Plain => self.greeted(Box::new(tcp)).await?,
            MailSecurity::Tls => {
                let tls = self.tls(tcp).await?;
                self.greeted(Box::new(tls)).await?
            }
            MailSecurity::Starttls => {
                let mut plain = self.greeted(Box::new(tcp)).await?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| self.err(format!("STARTTLS refused: {e}")))?;
                // The upgraded stream carries no second greeting.
                Client::new(Box::new(self.tls(plain.into_inner()).await?) as Conn)
            }
        };
        client
            .login(&m.user, self.password.expose_secret())
            .await
            .map_err(|(e, _)| self.err(format!("login failed: {e}")))
    }

    async fn greeted(&self, stream: Conn) -> Result<Client<Conn>, IntakeError> {
        let mut client = Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.err("connection closed before the greeting"))?;
        Ok(client)
    }

    async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, IntakeError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.mailbox.host.clone())
            .map_err(|e| self.err(format!("host name for TLS: {e}")))?;
        TlsConnector::from(Arc::new(tls))
            .connect(name, stream)
            .await
            .map_err(|e| self.err(format!("TLS handshake: {e}")))
    }

    /// Commits and marks every unmarked message, oldest first; returns how many new
    /// inquiries or replies were committed.
    async fn process_waiting(
        &self,
        session: &mut Session<Conn>,
        marks: Marks,
    ) -> Result<usize, IntakeError> {
        let m = &self.mailbox;
        let query = match &m.processed_folder {
            Some(_) => "ALL".to_string(),
            None => unmarked_query(&m.processed_flag),
        };
        let mut uids: Vec<u32> = session
            .uid_search(&query)
            .await
            .map_err(|e| self.err(e))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let mut new = 0;
        for uid in uids {
            // While the triage backlog is full the mail stays on the server; it is fetched
            // once the backlog drains (the next poll or IDLE wake-up).
            if self.triage.backlog_full(&self.store).await? {
                tracing::info!(mailbox = %m.name, "triage backlog full: leaving mail on the server for now");
                break;
            }
            let fetched: Vec<_> = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .map_err(|e| self.err(e))?
                .try_collect()
                .await
                .map_err(|e| self.err(e))?;
            let Some(raw) = fetched
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
            else {
                continue; // expunged by someone else meanwhile
            };
            let source = format!("imap:{}", m.name);
            let taken = take_in(&self.store, &self.parser, raw, raw.len(), &source).await?;
            match &taken {
                Taken::Recorded(Recorded {
                    committed: Committed::NewCase(case) | Committed::Attached(case),
                    ..
                }) => {
                    new += 1;
                    tracing::info!(mailbox = %m.name, uid, case = %case, "mail committed");
                }
                Taken::Recorded(Recorded { committed, .. }) | Taken::Duplicate(committed) => {
                    tracing::info!(mailbox = %m.name, uid, result = ?committed, "mail recorded")
                }
                Taken::Crashed {
                    attempts,
                    quarantined,
                    error,
                } => tracing::warn!(mailbox = %m.name, uid, attempts, quarantined, %error,
                    "the mail parser crashed on a message"),
            }
            if !taken.processed() {
                continue;
            }
            self.mark(session, uid, marks).await?;
        }
        Ok(new)
    }

    async fn mark(
        &self,
        session: &mut Session<Conn>,
        uid: u32,
        marks: Marks,
    ) -> Result<(), IntakeError> {
        let uid_s = uid.to_string();
        let e = |e| self.err(e);
        match &self.mailbox.processed_folder {
            Some(folder) if marks.can_move => session.uid_mv(&uid_s, folder).await.map_err(e)?,
            Some(folder) => {
                session.uid_copy(&uid_s, folder).await.map_err(e)?;
                self.store_flag(session, &uid_s, "\\Deleted").await?;
                if marks.uidplus {
                    let _: Vec<_> = session
                        .uid_expunge(&uid_s)
                        .await
                        .map_err(e)?
                        .try_collect()
                        .await
                        .map_err(e)?;
                } else {
                    let _: Vec<_> = session
                        .expunge()
                        .await
                        .map_err(e)?
                        .try_collect()
                        .await
                        .map_err(e)?;
                }
            }
            None => {
                self.store_flag(session, &uid_s, &self.mailbox.processed_flag)
                    .await?
            }
        }
        Ok(())
    }

    async fn store_flag(
        &self,
        session: &mut Session<Conn>,
        uid: &str,
        flag: &str,
    ) -> Result<(), IntakeError> {
        let _: Vec<_> = session
            .uid_store(uid, format!("+FLAGS.SILENT ({flag})"))
            .await
            .map_err(|e| self.err(e))?
            .try_collect()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Marks {
    can_move: bool,
    uidplus: bool,
}

/// The SEARCH key for messages without `flag`: `\Seen` → `UNSEEN`, a keyword → `UNKEYWORD`.
fn unmarked_query(flag: &str) -> String {
    match flag.strip_prefix('\\') {
        Some(system) => format!("UN{}", system.to_ascii_uppercase()),
        None => format!("UNKEYWORD {flag}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keys_for_system_flags_and_keywords() {
        assert_eq!(unmarked_query("\\Seen"), "UNSEEN");
        assert_eq!(unmarked_query("\\Flagged"), "UNFLAGGED");
        assert_eq!(unmarked_query("$Anliegen"), "UNKEYWORD $Anliegen");
    }
}
