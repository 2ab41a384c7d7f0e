//! Rate limits (GCRA, the `governor` crate) per client address on the public routes and per
//! account and client address on logins, and the client address itself: the peer, or for a
//! peer in `auth.trusted_proxies` the nearest untrusted address in `X-Forwarded-For`.
//! Limits hold per process; each limiter forgets idle clients, so its memory stays bounded.

use std::{
    hash::Hash,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{Extensions, HeaderMap, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use crate::{
    config::{AuthConfig, RateLimitConfig},
    web::{ApiError, AppState},
};

/// Keys a limiter holds before it drops the ones whose allowance is full again.
const MAX_KEYS: usize = 100_000;

/// Requests allowed per key: `cells` at once, refilled evenly over `window`.
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(cells: u32, window: Duration) -> Self {
        let cells = NonZeroU32::new(cells.max(1)).expect("at least one");
        let period = (window / cells.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(cells);
        Self {
            inner: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// Takes one request from `key`'s allowance, or says when the next one is allowed.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let result = self.inner.check_key(key);
        if self.inner.len() > MAX_KEYS {
            self.inner.retain_recent();
        }
        result.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.inner.clock().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited(u32::try_from(seconds).unwrap_or(u32::MAX))
        })
    }
}

/// The limiters of one process.
pub struct Limits {
    pub intake: Limiter<IpAddr>,
    pub status: Limiter<IpAddr>,
    pub suggest: Limiter<IpAddr>,
    pub login_per_client: Limiter<IpAddr>,
    pub login_per_account: Limiter<String>,
}

impl Limits {
    pub fn new(c: &RateLimitConfig) -> Self {
        let minute = Duration::from_secs(60);
        let login = Duration::from_secs(c.login_window_seconds.max(1));
        Self {
            intake: Limiter::new(c.intake_per_minute, minute),
            status: Limiter::new(c.status_per_minute, minute),
            suggest: Limiter::new(c.suggest_per_minute, minute),
            login_per_client: Limiter::new(c.login_per_client, login),
            login_per_account: Limiter::new(c.login_per_account, login),
        }
    }
}

/// Which allowance a public route draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Intake,
    Status,
}

/// Middleware of a rate-limited public route: `429 rate_limited` with `Retry-After` once
/// the client's allowance is used up.
pub async fn limited(
    State((state, limit)): State<(AppState, Limit)>,
    req: Request,
    next: Next,
) -> Response {
    let client = client_addr(req.headers(), req.extensions(), &state.config.auth);
    let limiter = match limit {
        Limit::Intake => &state.access.limits.intake,
        Limit::Status => &state.access.limits.status,
    };
    match limiter.check(&client) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The client's address, as far as it can be known.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_addr(
            &parts.headers,
            &parts.extensions,
            &state.config.auth,
        )))
    }
}

/// The peer that connected, if the server was started with connection info.
pub fn peer_addr(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The peer, or behind trusted proxies the address the nearest of them was connected from.
/// Without connection info every request counts as one client.
fn client_addr(headers: &HeaderMap, extensions: &Extensions, auth: &AuthConfig) -> IpAddr {
    let Some(peer) = peer_addr(extensions) else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    if !auth.is_trusted_proxy(peer) {
        return peer;
    }
    // Each proxy appends the address it was connected from; the right-most untrusted one
    // is the first address no trusted proxy could have been lied to about.
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    chain
        .iter()
        .rev()
        .find(|a| !auth.is_trusted_proxy(**a))
        .or(chain.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder();
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        let peer: SocketAddr = format!("{peer}:4711").parse().unwrap();
        parts.extensions.insert(ConnectInfo(peer));
        parts
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let mut auth = Config::defaults().auth;
        let client =
            |p: &Parts, a: &AuthConfig| client_addr(&p.headers, &p.extensions, a).to_string();
        let spoofed = parts("198.51.100.7", Some("10.9.9.9"));
        assert_eq!(client(&spoofed, &auth), "198.51.100.7");
        auth.trusted_proxies = vec![crate::config::ProxyNet("10.0.0.0/24".parse().unwrap())];
        let proxied = parts("10.0.0.2", Some("6.6.6.6, 203.0.113.5, 10.0.0.3"));
        assert_eq!(client(&proxied, &auth), "203.0.113.5");
        assert_eq!(client(&parts("10.0.0.2", None), &auth), "10.0.0.2");
    }

    #[test]
    fn a_limiter_refuses_with_the_wait_and_keeps_keys_apart() {
        let limiter = Limiter::new(2, Duration::from_secs(60));
        let (a, b) = ("a".to_string(), "b".to_string());
        assert!(limiter.check(&a).is_ok() && limiter.check(&a).is_ok());
        match limiter.check(&a) {
            Err(ApiError::RateLimited(s)) => assert!((1..=30).contains(&s), "{s}"),
            other => panic!("{other:?}"),
        }
        assert!(limiter.check(&b).is_ok());
    }
}
