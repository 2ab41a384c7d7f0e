//! How far a service's replies go without a clerk: a setting of the authority that the
//! configuration, the admin API and the reply module share.

use serde::{Deserialize, Serialize};

/// How far replies for a service go without a clerk: `suggest` (the clerk writes or
/// sends), `draft` (prepared, one click sends it), `auto` (sent automatically when the
/// route was automatic within the risk budget and the draft is complete and checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Autonomy {
    #[default]
    Suggest,
    Draft,
    Auto,
}

impl Autonomy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suggest => "suggest",
            Self::Draft => "draft",
            Self::Auto => "auto",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Suggest, Self::Draft, Self::Auto]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}
