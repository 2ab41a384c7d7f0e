//! The `[auth]` and `[rate_limit]` settings: session timeouts, single sign-on through a
//! trusted reverse proxy with its group mapping, and the per-client and per-account limits
//! on public intake, status lookups and logins (README, "Security").

use std::{collections::BTreeMap, net::IpAddr, time::Duration};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::domain::Role;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this long without a request.
    pub session_idle_seconds: u64,
    /// A session ends this long after the login, however active.
    pub session_absolute_seconds: u64,
    /// Header carrying the user name from an authenticating reverse proxy; empty: off.
    pub trusted_header: String,
    /// Header carrying that user's groups (comma-separated); empty: none.
    pub groups_header: String,
    /// Peers whose forwarding headers (`trusted_header`, `X-Forwarded-For`) are believed.
    pub trusted_proxies: Vec<ProxyNet>,
    /// What each single-sign-on group grants.
    pub groups: BTreeMap<String, GroupGrant>,
}

impl AuthConfig {
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_seconds.max(1))
    }

    pub fn session_absolute(&self) -> Duration {
        Duration::from_secs(self.session_absolute_seconds.max(1))
    }

    /// Whether `peer` is one of `trusted_proxies`.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.0.contains(&peer))
    }
}

/// A role, and for clerks departments, granted to members of a single-sign-on group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupGrant {
    pub role: Role,
    #[serde(default)]
    pub departments: Vec<String>,
}

/// An address (`10.0.0.5`) or a network (`10.0.0.0/24`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(pub IpNet);

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse::<IpNet>()
            .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
            .map(ProxyNet)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "'{raw}' is neither an IP address nor a network like 10.0.0.0/24"
                ))
            })
    }
}

/// Requests one client address (or one account, for logins) may make; more get `429` with
/// `Retry-After`. Limits hold per process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `POST /api/v1/inquiries` per client address and minute.
    pub intake_per_minute: u32,
    /// Citizen status lookups and address confirmations per client address and minute.
    pub status_per_minute: u32,
    /// `GET /open311/v2/services/suggest.json` per client address and minute.
    pub suggest_per_minute: u32,
    /// Login attempts per account within `login_window_seconds`.
    pub login_per_account: u32,
    /// Login attempts per client address within `login_window_seconds`.
    pub login_per_client: u32,
    pub login_window_seconds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_addresses_or_networks() {
        let parse = |s: &str| serde_json::from_value::<ProxyNet>(serde_json::json!(s));
        let net = parse("10.0.0.0/24").unwrap();
        assert!(net.0.contains(&"10.0.0.77".parse::<IpAddr>().unwrap()));
        assert!(!net.0.contains(&"10.0.1.1".parse::<IpAddr>().unwrap()));
        let one = parse("::1").unwrap();
        assert!(one.0.contains(&"::1".parse::<IpAddr>().unwrap()));
        let err = parse("proxy.local").unwrap_err().to_string();
        assert!(err.contains("proxy.local"), "{err}");
    }
}
