//! Durable storage: inquiries, their decisions, case numbers and the embedding cache, and
//! the staff accounts, sessions and API tokens (`users`, `sessions`, `tokens`). One
//! repository layer over two backends chosen by `database.url`: SQLite (default, WAL, under
//! `data/`) and PostgreSQL for several nodes. Queries use `$N` placeholders, which both
//! understand; each backend has its own migrations. An inquiry is committed together with
//! its triage job before anything is acknowledged to the sender.

pub mod attachments;
pub mod audit;
mod catalogue;
pub mod clock;
pub mod figures;
pub mod gdpr;
pub mod jobs;
mod progress;

pub use audit::{AuditEntry, AuditVerdict};
pub use catalogue::{CatalogueVersion, NewCatalogueVersion, Stored, StoredCatalogue};
pub use clock::{Clock, ManualClock, SystemClock};
pub use jobs::{Job, JobKind, JobState};
pub use progress::TriageOutcome;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use sqlx::{
    AnyPool, Executor, Row,
    any::{AnyPoolOptions, AnyRow},
};

mod citizen;
mod closing;
mod idempotency;
mod mail;
mod outbox;
mod quality;
mod quarantine;
mod reach;
mod replies;
pub mod secret;
mod sessions;
mod tokens;
mod training;
mod training_runs;
mod users;
pub mod webhooks;

pub use citizen::{CaseReply, SecretPurpose};
pub use closing::Ending;
pub use idempotency::{Idempotent, KEY_LIFETIME_MS, KeyedRequest};
pub use mail::{Committed, InboundMail, MailLogEntry, Target, ThreadMessage};
pub use outbox::{OutboxEntry, QueuedMail};
pub use quality::QualityRecord;
pub use quarantine::{FailureCount, ParseFailure, QuarantinedMail};
pub use reach::InquiryQuery;
pub use replies::{ReplyTemplate, SentForService, SentReplyRecord};
pub use sessions::SessionLimits;
pub use tokens::{ApiToken, NewToken};
pub use training::{ModelVersion, NewExample, Rollback, TrainingExample};
pub use training_runs::TrainingRun;
pub use users::{NewUser, User, UserChange};

use crate::domain::{CaseNumber, Channel, Decision, InquiryStatus, Location};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database location {0}: {1}")]
    Location(String, String),
    #[error("stored record is inconsistent: {0}")]
    Corrupt(String),
    /// The change contradicts what is stored (e.g. a user name that is taken).
    #[error("{0}")]
    Conflict(String),
}

#[derive(Debug, Clone, Default)]
pub struct NewInquiry {
    pub channel: Channel,
    pub sender: Option<String>,
    pub text: String,
    /// The place the inquiry is about; personal data like `sender`.
    pub location: Option<Location>,
}

/// An inquiry as stored: the row of table `inquiries` with its current decision.
#[derive(Debug, Clone)]
pub struct StoredInquiry {
    pub id: i64,
    pub case_number: CaseNumber,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub sender: Option<String>,
    pub text: String,
    pub location: Option<Location>,
    pub status: InquiryStatus,
    pub decision: Option<Decision>,
    /// When the inquiry last changed (received, decided, reviewed).
    pub updated_at: DateTime<Utc>,
    /// Whether the citizen confirmed the contact address (web and API intake).
    pub contact_confirmed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The row-lock clause for a claim's inner SELECT: PostgreSQL skips rows another
    /// transaction holds, so several processes share a queue; SQLite's single writer already
    /// serialises the one claiming UPDATE.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Postgres => "FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Attempts a new job gets before it is dead (`pipeline.max_attempts`).
    max_attempts: i64,
    /// Who receives the inquiries' events (`webhooks`).
    webhooks: std::sync::Arc<webhooks::Subscribers>,
    /// The time the job queue decides due jobs and expired leases by.
    clock: std::sync::Arc<dyn Clock>,
}

impl Store {
    /// Opens the database named by `url` (`sqlite://…` or `postgres://…`), creating a
    /// SQLite file and its directory when missing, and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let (file, query) = path.split_once('?').unwrap_or((path, ""));
            let parent = std::path::Path::new(file)
                .parent()
                .filter(|p| !p.as_os_str().is_empty());
            if let Some(parent) = parent {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Location(parent.display().to_string(), e.to_string())
                })?;
            }
            let query = if query.is_empty() {
                "mode=rwc".to_string()
            } else {
                query.to_string()
            };
            (Backend::Sqlite, format!("sqlite://{file}?{query}"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::Location(
                url.split('@').next_back().unwrap_or_default().into(),
                "database.url must start with sqlite:// or postgres://".into(),
            ));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes a commit durable
                        // before the inquiry is acknowledged.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            max_attempts: 5,
            webhooks: Default::default(),
            clock: std::sync::Arc::new(SystemClock),
        })
    }

    /// Sets the clock the job queue decides by (tests advance a [`ManualClock`]).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the attempts new jobs get before they are dead.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = i64::from(max_attempts.max(1));
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that writes. On SQLite it takes the write lock first (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// `SQLITE_BUSY_SNAPSHOT` (517) when another connection committed in between, which the
    /// busy timeout cannot wait out; an immediate one waits for the writer instead.
    /// PostgreSQL locks rows as it writes them, and begins as usual.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Commits a new inquiry with the next case number of the current year and its triage
    /// job, in one transaction: an acknowledged inquiry is always processed.
    pub async fn insert_inquiry(&self, new: NewInquiry) -> Result<StoredInquiry, StoreError> {
        let mut tx = self.begin_write().await?;
        let stored = insert_inquiry_tx(&mut tx, new, self).await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn inquiry(&self, case: &CaseNumber) -> Result<Option<StoredInquiry>, StoreError> {
        let row = sqlx::query("SELECT * FROM inquiries WHERE case_number = $1")
            .bind(case.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| inquiry_from_row(&r)).transpose()
    }

    /// Stores a clerk's decision in the history and as the inquiry's current one, with its
    /// `inquiry.reviewed` event, atomically.
    pub async fn record_decision(
        &self,
        inquiry_id: i64,
        decision: &Decision,
    ) -> Result<InquiryStatus, StoreError> {
        let now = Utc::now().to_rfc3339();
        let json = serde_json::to_string(decision).expect("decision serialises");
        let status = InquiryStatus::from(decision.status);
        let mut tx = self.begin_write().await?;
        insert_decision_in(&mut tx, inquiry_id, decision, &now).await?;
        sqlx::query(
            "UPDATE inquiries SET status = $1, decision = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(&json)
        .bind(&now)
        .bind(inquiry_id)
        .execute(&mut *tx)
        .await?;
        reach::set_reach_in(&mut tx, inquiry_id, decision).await?;
        self.enqueue_event_in(
            &mut tx,
            inquiry_id,
            webhooks::Event::Reviewed,
            Some(decision),
        )
        .await?;
        tx.commit().await?;
        Ok(status)
    }

    pub async fn cached_embeddings(
        &self,
        model: &str,
        hashes: &[String],
    ) -> Result<HashMap<String, Vec<f32>>, StoreError> {
        let mut found = HashMap::new();
        for chunk in hashes.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT text_hash, vector FROM embedding_cache WHERE model = $1 AND text_hash IN ({})",
                placeholders.join(",")
            );
            let mut q = sqlx::query(&sql).bind(model);
            for h in chunk {
                q = q.bind(h);
            }
            for row in q.fetch_all(&self.pool).await? {
                let blob: Vec<u8> = row.try_get("vector")?;
                found.insert(row.try_get("text_hash")?, decode_vector(&blob));
            }
        }
        Ok(found)
    }

    pub async fn cache_embeddings(
        &self,
        model: &str,
        entries: &[(String, Vec<f32>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (hash, vector) in entries {
            sqlx::query(
                "INSERT INTO embedding_cache (model, text_hash, vector) VALUES ($1, $2, $3)
                 ON CONFLICT (model, text_hash) DO NOTHING",
            )
            .bind(model)
            .bind(hash)
            .bind(encode_vector(vector))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Inserts a new inquiry with the next case number and its triage job inside `tx`, so
/// callers can commit it together with related rows (the mail it came in).
pub(crate) async fn insert_inquiry_tx(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: NewInquiry,
    store: &Store,
) -> Result<StoredInquiry, StoreError> {
    let now = Utc::now();
    let sequence: i64 = sqlx::query_scalar(
        "INSERT INTO case_counters (year, last) VALUES ($1, 1)
             ON CONFLICT (year) DO UPDATE SET last = case_counters.last + 1 RETURNING last",
    )
    .bind(now.year())
    .fetch_one(&mut **tx)
    .await?;
    let case_number = CaseNumber {
        year: now.year(),
        sequence: u32::try_from(sequence)
            .map_err(|_| StoreError::Corrupt("case counter overflow".into()))?,
    };
    let id: i64 = sqlx::query_scalar(
            "INSERT INTO inquiries (case_number, received_at, channel, sender, text, status, updated_at,
                 location_lat, location_lon, location_address)
             VALUES ($1, $2, $3, $4, $5, 'received', $6, $7, $8, $9) RETURNING id",
        )
        .bind(case_number.to_string())
        .bind(now.to_rfc3339())
        .bind(new.channel.as_str())
        .bind(&new.sender)
        .bind(&new.text)
        .bind(now.to_rfc3339())
        .bind(new.location.as_ref().and_then(|l| l.lat))
        .bind(new.location.as_ref().and_then(|l| l.lon))
        .bind(new.location.as_ref().and_then(|l| l.address.clone()))
        .fetch_one(&mut **tx)
        .await?;
    // The triage job commits with the inquiry: an acknowledged inquiry is always processed.
    jobs::enqueue_in(
        tx,
        JobKind::Triage,
        Some(id),
        store.max_attempts,
        store.clock.now_ms(),
    )
    .await?;
    store
        .enqueue_event_in(tx, id, webhooks::Event::Received, None)
        .await?;
    Ok(StoredInquiry {
        id,
        case_number,
        received_at: now,
        channel: new.channel,
        sender: new.sender,
        text: new.text,
        location: new.location,
        status: InquiryStatus::Received,
        decision: None,
        updated_at: now,
        contact_confirmed: false,
    })
}

/// Adds a decision to an inquiry's history inside the caller's transaction.
async fn insert_decision_in(
    conn: &mut sqlx::AnyConnection,
    inquiry_id: i64,
    decision: &Decision,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO decisions (inquiry_id, created_at, router, model, service_id, confidence, status, decision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(inquiry_id)
    .bind(now)
    .bind(&decision.router)
    .bind(&decision.model)
    .bind(&decision.service.id)
    .bind(f64::from(decision.confidence))
    .bind(InquiryStatus::from(decision.status).as_str())
    .bind(serde_json::to_string(decision).expect("decision serialises"))
    .execute(conn)
    .await?;
    Ok(())
}

fn inquiry_from_row(r: &AnyRow) -> Result<StoredInquiry, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_string());
    let case: String = r.try_get("case_number")?;
    let received: String = r.try_get("received_at")?;
    let channel: String = r.try_get("channel")?;
    let status: String = r.try_get("status")?;
    let decision: Option<String> = r.try_get("decision")?;
    Ok(StoredInquiry {
        id: r.try_get("id")?,
        case_number: case.parse().map_err(|_| corrupt("case number"))?,
        received_at: DateTime::parse_from_rfc3339(&received)
            .map_err(|_| corrupt("received_at"))?
            .with_timezone(&Utc),
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel"))?,
        sender: r.try_get("sender")?,
        text: r.try_get("text")?,
        location: Location::from_parts(
            r.try_get("location_lat")?,
            r.try_get("location_lon")?,
            r.try_get("location_address")?,
        ),
        status: InquiryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown inquiry status '{status}'")))?,
        decision: decision
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|_| corrupt("decision"))?,
        updated_at: DateTime::parse_from_rfc3339(&r.try_get::<String, _>("updated_at")?)
            .map_err(|_| corrupt("updated_at"))?
            .with_timezone(&Utc),
        contact_confirmed: r
            .try_get::<Option<String>, _>("contact_confirmed_at")?
            .is_some(),
    })
}

pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn decode_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
