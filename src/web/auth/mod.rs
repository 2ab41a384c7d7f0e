//! Authentication and the rules of the route trees. A request proves who it is with an API
//! token (`Authorization: Bearer`), a session cookie from the login, or — from a trusted
//! reverse proxy — a single-sign-on header (tried in this order); the staff tree admits any of them, the admin
//! tree only the admin role. Failures answer `401 unauthorized` (no or dead credentials)
//! or `403 forbidden` (a clerk on an admin route).

pub mod identity;
pub mod password;
pub mod session;
mod sso;
pub mod throttle;

use axum::{
    extract::{Request, State},
    http::{Extensions, HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

pub use identity::{Caller, Identity, Via};
pub use session::routes;
pub use throttle::{ClientAddr, Limit};

use super::{ApiError, AppState};
use crate::{
    config::Config,
    store::{SessionLimits, secret},
};

/// The per-process part of access control: rate limiters and the password-hashing budget.
pub struct Access {
    pub limits: throttle::Limits,
    /// argon2id takes 19 MiB and tens of milliseconds per check; at most this many run
    /// at once, the rest wait their turn.
    hashing: Semaphore,
}

impl Access {
    pub fn new(config: &Config) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            limits: throttle::Limits::new(&config.rate_limit),
            hashing: Semaphore::new(cores),
        }
    }

    /// Checks a password against a stored hash on a blocking thread.
    pub async fn verify_password(&self, password: String, hash: String) -> bool {
        let _turn = self.hashing.acquire().await.expect("never closed");
        tokio::task::spawn_blocking(move || password::verify(&password, &hash))
            .await
            .unwrap_or(false)
    }
}

/// The session timeouts from `[auth]`.
pub fn session_limits(config: &Config) -> SessionLimits {
    SessionLimits {
        idle: config.auth.session_idle(),
        absolute: config.auth.session_absolute(),
    }
}

/// Who sent the request, if anyone. A presented token that is unknown or revoked is an
/// error rather than anonymous, so a machine client learns at once that it was cut off.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Option<Identity>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let token = state
            .store
            .live_token(&secret::digest(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Some(Identity::from_token(token)));
    }
    if let Some(digest) = session::presented(headers, &state.config) {
        let user = state
            .store
            .session_user(&digest, session_limits(&state.config))
            .await?;
        if let Some(user) = user {
            return Ok(Some(Identity::from_session(user, digest)));
        }
    }
    Ok(sso::identity(&state.config.auth, headers, extensions))
}

/// The staff tree's rule: any authenticated caller (clerk or admin).
pub async fn staff_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    admit(&state, req, next, |_| true).await
}

/// The admin tree's rule: authenticated with the admin role.
pub async fn admin_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    admit(&state, req, next, Identity::is_admin).await
}

async fn admit(
    state: &AppState,
    mut req: Request,
    next: Next,
    allowed: fn(&Identity) -> bool,
) -> Response {
    match authenticate(state, req.headers(), req.extensions()).await {
        Ok(Some(identity)) if allowed(&identity) => {
            req.extensions_mut().insert(identity);
            next.run(req).await
        }
        Ok(Some(_)) => ApiError::Forbidden.into_response(),
        Ok(None) => ApiError::Unauthorized.into_response(),
        Err(e) => e.into_response(),
    }
}
