//! A routing decision: the chosen service and department, how sure the router is, the
//! other candidates, and the catalogue evidence behind it. This is the JSON contract the
//! API and CLI return.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    /// Confident enough to go to the department without a clerk looking first.
    Routed,
    /// Goes to the department's review queue with the candidate list.
    Review,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    pub service_id: String,
    pub service_name: String,
    pub department_id: String,
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    ServiceName,
    Description,
    Keywords,
    Example,
}

/// A catalogue entry that matched the inquiry, with its cosine similarity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub service_id: String,
    pub kind: EvidenceKind,
    pub text: String,
    pub similarity: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutedDepartment {
    pub id: String,
    pub name: String,
    pub mailbox: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutedService {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leika: Option<String>,
}

impl From<&super::Department> for RoutedDepartment {
    fn from(d: &super::Department) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            mailbox: d.mailbox.clone(),
        }
    }
}

impl From<&super::Service> for RoutedService {
    fn from(s: &super::Service) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            leika: s.leika.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub status: RouteStatus,
    pub service: RoutedService,
    pub department: RoutedDepartment,
    pub confidence: f32,
    /// Whether `confidence` is a calibrated probability (from a trained model version).
    #[serde(default)]
    pub calibrated: bool,
    /// Why this status: which threshold was met or missed.
    pub reason: String,
    pub candidates: Vec<Candidate>,
    pub evidence: Vec<Evidence>,
    /// Which router and embedding model produced this decision.
    pub router: String,
    pub model: String,
}
