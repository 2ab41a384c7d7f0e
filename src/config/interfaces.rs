//! Settings of the interfaces to other systems: the Open311 server.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Config {
    /// The jurisdiction this server answers for; requests naming another one get `404`.
    pub jurisdiction_id: String,
    /// Whom client developers contact (discovery).
    pub contact: String,
    /// How client developers get an `api_key` (discovery).
    pub key_service: String,
}
