//! Vector search behind one capability, `VectorIndex`: named collections of points
//! (id, vector, payload), searched by cosine similarity with payload filters. The embedded
//! implementation is the default; a Qdrant implementation serves several replicas.

pub mod embedded;
pub mod qdrant;

pub use embedded::EmbeddedIndex;
pub use qdrant::QdrantIndex;

use serde::{Deserialize, Serialize};

/// What a point carries besides its vector. Only redacted text is ever stored here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub service_id: String,
    pub department_id: String,
    /// What the point stands for, e.g. a catalogue field or a past case.
    pub kind: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: String,
    pub vector: Vec<f32>,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub payload: Payload,
}

/// Restricts a search to points whose payload matches every given field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub department_id: Option<String>,
    pub status: Option<String>,
}

impl Filter {
    pub fn matches(&self, p: &Payload) -> bool {
        self.department_id
            .as_ref()
            .is_none_or(|d| *d == p.department_id)
            && self
                .status
                .as_ref()
                .is_none_or(|s| p.status.as_ref() == Some(s))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("vector index storage failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("collection '{0}' does not exist")]
    NoCollection(String),
    #[error("vector has {got} dimensions, collection '{collection}' has {want}")]
    Dimension {
        collection: String,
        got: usize,
        want: usize,
    },
    #[error("vector index backend failed: {0}")]
    Backend(String),
}

#[async_trait::async_trait]
pub trait VectorIndex: Send + Sync {
    /// Creates the collection when missing; an existing one keeps its points.
    async fn ensure_collection(&self, collection: &str, dimension: usize)
    -> Result<(), IndexError>;
    async fn upsert(&self, collection: &str, points: Vec<Point>) -> Result<(), IndexError>;
    async fn delete(&self, collection: &str, ids: &[String]) -> Result<(), IndexError>;
    /// Replaces every point and sets the collection's tag in one step.
    async fn replace_all(
        &self,
        collection: &str,
        points: Vec<Point>,
        tag: &str,
    ) -> Result<(), IndexError>;
    /// A free-form marker of what the collection was built from (e.g. catalogue fingerprint).
    async fn tag(&self, collection: &str) -> Result<Option<String>, IndexError>;
    async fn count(&self, collection: &str) -> Result<usize, IndexError>;
    async fn search(
        &self,
        collection: &str,
        vector: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, IndexError>;
}
