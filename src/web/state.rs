//! The state every handler gets: settings, the store, the local pipeline, and — once the
//! model is loaded and the catalogue indexed — the capabilities of the routing engine.

use std::sync::{Arc, OnceLock};

use super::{
    ApiError,
    auth::{Access, Identity},
};
use crate::{
    config::Config,
    domain::{CaseNumber, Catalogue, case::InvalidCaseNumber},
    pipeline::Pipeline,
    store::{Store, StoredInquiry},
    triage::{Evaluator, ModelAdmin, Router},
};

#[derive(Clone)]
pub struct AppState {
    /// Limits, mail and triage settings the handlers apply.
    pub config: Arc<Config>,
    pub store: Store,
    /// The job queue's workers in this process: intake nudges them and awaits decisions.
    pub pipeline: Pipeline,
    /// Rate limiters and the password-hashing budget of this process.
    pub access: Arc<Access>,
    ready: Arc<OnceLock<Ready>>,
}

/// What handlers can do once the engine runs.
#[derive(Clone)]
pub struct Ready {
    pub catalogue: Arc<Catalogue>,
    pub models: Arc<dyn ModelAdmin>,
    pub evaluator: Arc<dyn Evaluator>,
    /// Routes a text without storing anything (Open311 suggestions).
    pub router: Arc<Router>,
    /// The loaded model's id, for the readiness answer.
    pub model_id: String,
}

impl AppState {
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            pipeline: Pipeline::new(&config),
            access: Arc::new(Access::new(&config)),
            store: store
                .with_max_attempts(config.pipeline.max_attempts)
                .with_webhooks(
                    crate::webhooks::subscribers(&config.webhooks),
                    config.webhooks.max_attempts,
                ),
            config: Arc::new(config),
            ready: Arc::new(OnceLock::new()),
        }
    }

    /// Hands the handlers the engine's capabilities; the first call wins.
    pub fn set_ready(&self, ready: Ready) {
        let _ = self.ready.set(ready);
    }

    /// The engine's capabilities, or `503 not_ready` while the model is loading.
    pub fn ready(&self) -> Result<&Ready, ApiError> {
        self.ready.get().ok_or(ApiError::NotReady)
    }

    /// The inquiry behind a case number from a URL, if `caller` may reach it. A malformed
    /// or unknown number and a case outside a clerk's departments are the same 404, so case
    /// numbers cannot be probed.
    pub(super) async fn inquiry_for(
        &self,
        caller: &Identity,
        case: &str,
    ) -> Result<(CaseNumber, StoredInquiry), ApiError> {
        let case: CaseNumber = case
            .parse()
            .map_err(|e: InvalidCaseNumber| ApiError::NotFound(e.to_string()))?;
        let inquiry = self
            .store
            .inquiry(&case)
            .await?
            .filter(|i| caller.may_access(i.decision.as_ref()))
            .ok_or_else(|| ApiError::NotFound(format!("no inquiry {case}")))?;
        Ok((case, inquiry))
    }
}
