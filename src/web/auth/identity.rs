//! Who is calling: an account with a session, an API token, or a user vouched for by the
//! single-sign-on proxy — with the role and departments that decide what they may see. The
//! staff and admin trees put the [`Identity`] into the request; handlers take it as
//! [`Caller`].

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::Serialize;

use crate::{
    domain::{Decision, Role},
    store::{ApiToken, User},
    web::ApiError,
};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A login session; the digest of its cookie value, for logout.
    Session(String),
    Token,
    Sso,
}

#[derive(Debug, Clone)]
pub struct Identity {
    /// How the audit log names the caller: `user:12`, `token:3` or `sso:name`.
    pub actor: String,
    /// The account, token or single-sign-on user name, for people.
    pub name: String,
    pub role: Role,
    /// A clerk's departments (catalogue ids); an admin's are irrelevant.
    pub departments: Vec<String>,
    pub via: Via,
}

impl Identity {
    pub fn from_session(user: User, digest: String) -> Self {
        Self {
            actor: user.actor(),
            name: user.name,
            role: user.role,
            departments: user.departments,
            via: Via::Session(digest),
        }
    }

    pub fn from_token(token: ApiToken) -> Self {
        Self {
            actor: token.actor(),
            name: token.name,
            role: token.role,
            departments: token.departments,
            via: Via::Token,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may see and act on an inquiry with this current decision: an
    /// admin always, a clerk when one of their departments is in the decision's reach (an
    /// undecided inquiry is in nobody's).
    pub fn may_access(&self, decision: Option<&Decision>) -> bool {
        self.is_admin()
            || decision.is_some_and(|d| {
                d.departments_in_reach()
                    .iter()
                    .any(|r| self.departments.iter().any(|mine| mine == r))
            })
    }

    /// What `GET /api/v1/auth/whoami` answers.
    pub fn view(&self) -> IdentityView<'_> {
        IdentityView {
            name: &self.name,
            actor: &self.actor,
            role: self.role,
            departments: &self.departments,
            via: match self.via {
                Via::Session(_) => "session",
                Via::Token => "token",
                Via::Sso => "sso",
            },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityView<'a> {
    name: &'a str,
    actor: &'a str,
    role: Role,
    departments: &'a [String],
    via: &'static str,
}

/// The authenticated caller of a staff or admin route.
pub struct Caller(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    /// Only the staff and admin trees authenticate; a handler asking for a caller on a
    /// public route gets none and answers `401`.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .map(Self)
            .ok_or(ApiError::Unauthorized)
    }
}
