//! Who may do what: the two staff roles and the rule that decides which departments an
//! inquiry is in reach of. A clerk sees an inquiry only when one of their departments is in
//! its reach; the web layer checks single cases with it and the store keeps the same set per
//! inquiry for the inbox queries.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Catalogue, Decision, RouteStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: model versions, training, jobs, audit, users and tokens, every case.
    Admin,
    /// Reads and acts on the inquiries of their departments.
    Clerk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Clerk => "clerk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Admin, Self::Clerk]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A staff account's login name: 1 to 64 characters of letters, digits and `.`, `_`, `-`,
/// `@`, kept in lower case so `Mueller` and `mueller` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UserName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a user name has 1 to 64 characters: letters, digits, '.', '_', '-' or '@'")]
pub struct InvalidUserName;

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, InvalidUserName> {
        let name = raw.trim().to_lowercase();
        let allowed = |c: char| c.is_alphanumeric() || ".-_@".contains(c);
        if name.is_empty() || name.chars().count() > 64 || !name.chars().all(allowed) {
            return Err(InvalidUserName);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a role and departments do not fit together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidGrant {
    #[error("a clerk needs at least one department")]
    ClerkWithoutDepartment,
    #[error("an admin reaches every department; give departments to clerks only")]
    AdminWithDepartments,
    #[error("department '{0}' is not in the catalogue")]
    UnknownDepartment(String),
}

/// Checks what an account or API token is granted: a clerk works for one or more
/// departments of the catalogue, an admin for none in particular.
pub fn check_grant(
    role: Role,
    departments: &[String],
    catalogue: &Catalogue,
) -> Result<(), InvalidGrant> {
    match role {
        Role::Admin if !departments.is_empty() => Err(InvalidGrant::AdminWithDepartments),
        Role::Clerk if departments.is_empty() => Err(InvalidGrant::ClerkWithoutDepartment),
        _ => match departments
            .iter()
            .find(|d| catalogue.department(d).is_none())
        {
            Some(unknown) => Err(InvalidGrant::UnknownDepartment(
                unknown.chars().take(64).collect(),
            )),
            None => Ok(()),
        },
    }
}

impl Decision {
    /// The departments whose clerks may see and act on an inquiry with this decision: the
    /// department it is routed to, and while it waits for review also the departments of
    /// every candidate service, so each of them can pick it up.
    pub fn departments_in_reach(&self) -> BTreeSet<&str> {
        let mut reach = BTreeSet::from([self.department.id.as_str()]);
        if self.status == RouteStatus::Review {
            reach.extend(self.candidates.iter().map(|c| c.department_id.as_str()));
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Candidate,
        decision::{RoutedDepartment, RoutedService},
    };

    fn decision(status: RouteStatus) -> Decision {
        let candidate = |service: &str, department: &str| Candidate {
            service_id: service.into(),
            service_name: service.into(),
            department_id: department.into(),
            score: 0.3,
        };
        Decision {
            status,
            service: RoutedService {
                id: "strassenschaden".into(),
                name: "Straßenschaden".into(),
                leika: None,
            },
            department: RoutedDepartment {
                id: "tiefbau".into(),
                name: "Tiefbau".into(),
                mailbox: String::new(),
            },
            confidence: 0.4,
            calibrated: false,
            reason: String::new(),
            candidates: vec![
                candidate("strassenschaden", "tiefbau"),
                candidate("sperrmuell", "abfallwirtschaft"),
            ],
            evidence: Vec::new(),
            router: "test".into(),
            model: "test".into(),
        }
    }

    #[test]
    fn a_routed_inquiry_is_in_reach_of_its_department_only() {
        let routed = decision(RouteStatus::Routed);
        let reach: Vec<_> = routed.departments_in_reach().into_iter().collect();
        assert_eq!(reach, ["tiefbau"]);
    }

    #[test]
    fn an_inquiry_in_review_is_in_reach_of_every_candidate_department() {
        let review = decision(RouteStatus::Review);
        let reach: Vec<_> = review.departments_in_reach().into_iter().collect();
        assert_eq!(reach, ["abfallwirtschaft", "tiefbau"]);
    }

    #[test]
    fn user_names_are_lower_case_and_plain() {
        assert_eq!(UserName::parse(" Mueller ").unwrap().as_str(), "mueller");
        assert_eq!(
            UserName::parse("a.b-c_d@amt").unwrap().as_str(),
            "a.b-c_d@amt"
        );
        for bad in ["", "  ", "a b", "x;drop", "<script>", &"a".repeat(65)] {
            assert_eq!(UserName::parse(bad), Err(InvalidUserName), "{bad:?}");
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in [Role::Admin, Role::Clerk] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
