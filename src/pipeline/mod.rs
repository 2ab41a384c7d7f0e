//! The durable pipeline: worker loops that take jobs from the database queue and run them —
//! a triage job redacts the inquiry, routes the redacted text and records the decision; a
//! retention job applies the GDPR rules; a webhook job delivers one event to one
//! subscription (`webhooks`). Failures are retried with exponential backoff and
//! end `dead` for an admin. The HTTP intake nudges the local workers and may wait briefly
//! for its inquiry's decision; other processes find the job by polling.

pub mod gdpr;

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{Notify, broadcast},
    task::JoinSet,
};

use crate::{
    config::{Config, MailConfig, PipelineConfig, ReplyConfig, RetentionConfig},
    domain::{Catalogue, Decision, InquiryStatus, RouteStatus, inquiry::model_text},
    index::{IndexError, VectorIndex},
    privacy::redact::redact,
    store::{Job, JobKind, Store, StoreError, StoredInquiry, TriageOutcome},
    triage::{Router, TriageError},
};

/// The actor of automatic replies in the audit log and the case's replies.
const AUTO_ACTOR: &str = "anliegen";

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Triage(#[from] TriageError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Webhook(#[from] crate::webhooks::DeliveryError),
}

/// Shared by the HTTP handlers and the worker loops of one process.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    config: PipelineConfig,
    /// Redaction and routing read this many characters of a longer (mailed) text.
    max_model_chars: usize,
    retention: RetentionConfig,
    /// What to send when a case is decided.
    mail: MailConfig,
    /// Which services are answered automatically.
    reply: ReplyConfig,
    /// `server.public_url`, for the links in acknowledgements.
    public_url: String,
    /// Delivers the webhook jobs.
    webhooks: crate::webhooks::Webhooks,
    /// Wakes an idle worker when this process queued a job.
    wake: Notify,
    /// Ids of inquiries whose triage job finished in this process.
    finished: broadcast::Sender<i64>,
    /// Distinguishes this process's workers in `jobs.locked_by`.
    process: String,
}

impl Pipeline {
    pub fn new(config: &Config) -> Self {
        let started = chrono::Utc::now().timestamp_millis();
        Self {
            inner: Arc::new(Inner {
                config: config.pipeline.clone(),
                max_model_chars: config.server.max_text_chars,
                retention: config.retention.clone(),
                mail: config.mail.clone(),
                reply: config.reply.clone(),
                public_url: config.server.public_url.clone(),
                webhooks: crate::webhooks::Webhooks::new(config),
                wake: Notify::new(),
                finished: broadcast::channel(1024).0,
                process: format!("pid{}-{started:x}", std::process::id()),
            }),
        }
    }

    /// Tells an idle local worker that a job is waiting.
    pub fn nudge(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether `pipeline.max_queued` triage jobs are waiting or running (while the model
    /// loads, too). Intake then takes nothing new: the HTTP API answers `503 backlog_full`,
    /// and the IMAP pollers leave mail in the mailbox and fetch it once the backlog drains.
    pub async fn backlog_full(&self, store: &Store) -> Result<bool, StoreError> {
        let max = i64::try_from(self.inner.config.max_queued).unwrap_or(i64::MAX);
        Ok(store.triage_backlog().await? >= max)
    }

    /// Subscribe before queuing, so a fast decision is not missed.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.inner.finished.subscribe()
    }

    /// Waits up to `max_wait_ms` for `inquiry`'s triage to finish in this process, then
    /// returns the inquiry as stored (decided, or still received).
    pub async fn await_decision(
        &self,
        mut finished: broadcast::Receiver<i64>,
        store: &Store,
        inquiry: StoredInquiry,
    ) -> Result<StoredInquiry, StoreError> {
        let wait = Duration::from_millis(self.inner.config.max_wait_ms);
        let _ = tokio::time::timeout(wait, async {
            loop {
                match finished.recv().await {
                    Ok(id) if id == inquiry.id => return,
                    Ok(_) => {}
                    // Missed notifications: the database has the answer.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if store
                            .inquiry_by_id(inquiry.id)
                            .await
                            .ok()
                            .flatten()
                            .is_some_and(|i| i.status != InquiryStatus::Received)
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
        .await;
        Ok(store.inquiry_by_id(inquiry.id).await?.unwrap_or(inquiry))
    }

    /// Runs the configured number of worker loops until the process ends. Schedules the
    /// retention job first (once across all processes: the queue keeps one pending).
    pub async fn run(&self, store: Store, router: Arc<Router>, index: Arc<dyn VectorIndex>) {
        if let Err(e) = store
            .schedule_job(JobKind::Retention, chrono::Utc::now().timestamp_millis())
            .await
        {
            tracing::warn!(error = %e, "scheduling the retention job failed");
        }
        let mut workers = JoinSet::new();
        for n in 0..self.inner.config.workers.max(1) {
            let (me, store) = (self.clone(), store.clone());
            let (router, index) = (router.clone(), index.clone());
            let name = format!("{}-w{n}", self.inner.process);
            workers.spawn(async move { me.work(&name, &store, &router, index.as_ref()).await });
        }
        tracing::info!(workers = workers.len(), "pipeline workers started");
        while let Some(ended) = workers.join_next().await {
            if let Err(e) = ended {
                tracing::error!(error = %e, "a pipeline worker panicked");
            }
        }
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.inner.config.lease_seconds.max(1))
    }

    async fn work(&self, name: &str, store: &Store, router: &Router, index: &dyn VectorIndex) {
        let lease = self.lease();
        let poll = Duration::from_millis(self.inner.config.poll_ms.max(10));
        loop {
            match store.claim_job(name, lease).await {
                Ok(Some(job)) => self.execute(store, router, index, job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.inner.wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a job failed; retrying");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    async fn execute(&self, store: &Store, router: &Router, index: &dyn VectorIndex, job: Job) {
        let result = if job.attempts > job.max_attempts {
            // Claimed again after its last lease expired: the worker died on every try.
            Err("lease expired on the last attempt".to_string())
        } else {
            let step = async {
                match job.kind {
                    JobKind::Triage => self.triage(store, router, &job).await,
                    JobKind::Retention => {
                        gdpr::retention(store, index, &self.inner.retention, &job)
                            .await
                            .map(|()| self.schedule_retention(store))
                    }
                    JobKind::Webhook => self.deliver(store, &job).await,
                }
            };
            store
                .holding_lease(&job, self.lease(), step)
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(error) = result {
            let backoff = match job.kind {
                JobKind::Webhook => self.inner.webhooks.backoff(job.attempts),
                JobKind::Triage | JobKind::Retention => crate::store::jobs::backoff(
                    Duration::from_millis(self.inner.config.backoff_base_ms),
                    job.attempts,
                    crate::store::jobs::MAX_JOB_BACKOFF,
                ),
            };
            match store.fail_job(&job, &error, backoff).await {
                Ok(state) => tracing::warn!(
                    job = job.id, kind = job.kind.as_str(), attempt = job.attempts,
                    state = state.as_str(), error = %error, "job failed"
                ),
                Err(e) => {
                    tracing::error!(job = job.id, error = %e, "recording a job failure failed")
                }
            }
        }
        // Only a triage job decides; a webhook job of the same inquiry must not wake the
        // intake waiting for that decision.
        if let (JobKind::Triage, Some(id)) = (job.kind, job.inquiry_id) {
            let _ = self.inner.finished.send(id);
        }
    }

    /// Delivers one webhook event and marks its job done.
    async fn deliver(&self, store: &Store, job: &Job) -> Result<(), PipelineError> {
        self.inner.webhooks.deliver(store, job).await?;
        store.complete_job(job).await?;
        Ok(())
    }

    fn schedule_retention(&self, store: &Store) {
        let next = chrono::Utc::now().timestamp_millis()
            + i64::from(self.inner.retention.interval_hours.max(1)) * 3_600_000;
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.schedule_job(JobKind::Retention, next).await {
                tracing::warn!(error = %e, "scheduling the next retention run failed");
            }
        });
    }

    /// Redact → store the redacted text → route it → record decision, audit entry and job
    /// completion in one transaction. Re-running after a crash at any point decides once.
    async fn triage(&self, store: &Store, router: &Router, job: &Job) -> Result<(), PipelineError> {
        let inquiry = match job.inquiry_id {
            Some(id) => store.inquiry_by_id(id).await?,
            None => None,
        };
        let Some(inquiry) = inquiry.filter(|i| i.status == InquiryStatus::Received) else {
            // Erased meanwhile, or decided by an earlier run of this job.
            store.complete_job(job).await?;
            return Ok(());
        };
        let text = model_text(&inquiry.text, self.inner.max_model_chars);
        let language = crate::reply::language::detect(text);
        store.set_language(inquiry.id, language.code).await?;
        let redacted = redact(text);
        store.set_redacted_text(inquiry.id, &redacted.text).await?;
        let place = inquiry.location.as_ref().and_then(|l| l.point());
        let decision = router.route_at(&redacted.text, place).await?;
        // Queued before the decision commits, so a crash in between cannot lose the
        // acknowledgement; the outbox holds one per case and kind, so a re-run adds nothing.
        crate::outbound::notify::on_decided(
            store,
            &self.inner.mail,
            &self.inner.public_url,
            &inquiry,
            &decision,
        )
        .await?;
        // Also before the commit, for the same reason; sent once per case.
        self.auto_reply(store, router.catalogue(), &inquiry, &decision)
            .await?;
        match store.finish_triage(job, &inquiry, &decision).await? {
            TriageOutcome::Decided(status) => {
                metrics::counter!("anliegen_decisions_total", "status" => status.as_str())
                    .increment(1);
                tracing::info!(
                    case = %inquiry.case_number,
                    job = job.id,
                    service = %decision.service.id,
                    confidence = decision.confidence,
                    status = status.as_str(),
                    redacted = redacted.findings.len(),
                    language = language.code,
                    "inquiry routed"
                );
            }
            TriageOutcome::AlreadyDecided => {
                tracing::info!(case = %inquiry.case_number, job = job.id, "inquiry was decided already")
            }
            TriageOutcome::LostLease => tracing::warn!(
                case = %inquiry.case_number, job = job.id,
                "lease expired before the decision was recorded; another worker decides"
            ),
        }
        Ok(())
    }

    /// Sends the draft at once for a service with `auto` autonomy, when the route was
    /// automatic within the risk budget (routed by a calibrated model version) and the
    /// draft has no gap and passes the checker. Anything less waits for a clerk. Runs before
    /// the decision commits, so a crash in between cannot lose it; a re-run sends nothing
    /// twice.
    async fn auto_reply(
        &self,
        store: &Store,
        catalogue: &Catalogue,
        inquiry: &crate::store::StoredInquiry,
        decision: &Decision,
    ) -> Result<(), StoreError> {
        use crate::reply::{Autonomy, case};
        if case::autonomy(store, &self.inner.reply, &decision.service.id).await? != Autonomy::Auto {
            return Ok(());
        }
        let case = inquiry.case_number.to_string();
        if store.has_reply_by(inquiry.id, AUTO_ACTOR).await? {
            return Ok(());
        }
        if decision.status != RouteStatus::Routed || !decision.calibrated {
            tracing::info!(case = %case, "no automatic reply: the route was not automatic within the risk budget");
            return Ok(());
        }
        let Some(draft) = case::draft_for(store, catalogue, inquiry, decision).await? else {
            return Ok(());
        };
        if !draft.is_complete() {
            tracing::info!(case = %case, gaps = draft.gaps.len(), flags = draft.check.flags.len(), "no automatic reply: the draft is incomplete");
            return Ok(());
        }
        let mut decided = inquiry.clone();
        decided.decision = Some(decision.clone());
        let german_copy = case::german_copy(Some(&draft), draft.language);
        crate::outbound::notify::send_reply(
            store,
            &self.inner.mail,
            &decided,
            &crate::outbound::notify::ReplyToSend {
                text: &draft.text,
                language: draft.language,
                german_copy: german_copy.as_deref(),
                actor: AUTO_ACTOR,
                audit: serde_json::json!({"automatic": true}),
            },
        )
        .await?;
        tracing::info!(case = %case, "automatic reply sent");
        Ok(())
    }
}
