//! The catalogue as vector-index points: each service contributes its name, description,
//! keywords and every example inquiry. The collection is tagged with the catalogue
//! fingerprint and the model id and is rebuilt only when either changes; embeddings come
//! from the cache by text hash, so a rebuild embeds only new or changed texts.

use std::collections::HashMap;

use super::{TriageError, cache::embed_cached};
use crate::{
    domain::{Catalogue, EvidenceKind},
    embed::Embedder,
    index::{Payload, Point, VectorIndex},
    store::Store,
};

pub const CATALOGUE_COLLECTION: &str = "catalogue";

pub struct Document {
    pub id: String,
    pub service_id: String,
    pub department_id: String,
    pub kind: EvidenceKind,
    pub text: String,
}

fn kind_name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::ServiceName => "service_name",
        EvidenceKind::Description => "description",
        EvidenceKind::Keywords => "keywords",
        EvidenceKind::Example => "example",
    }
}

pub fn evidence_kind(name: &str) -> EvidenceKind {
    [
        EvidenceKind::ServiceName,
        EvidenceKind::Description,
        EvidenceKind::Keywords,
        EvidenceKind::Example,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == name)
    .unwrap_or(EvidenceKind::Example)
}

pub fn documents(catalogue: &Catalogue) -> Vec<Document> {
    let mut docs = Vec::new();
    for s in &catalogue.services {
        let mut push = |kind: EvidenceKind, n: usize, text: String| {
            docs.push(Document {
                id: format!("{}:{}:{n}", s.id, kind_name(kind)),
                service_id: s.id.clone(),
                department_id: s.department.clone(),
                kind,
                text,
            });
        };
        push(EvidenceKind::ServiceName, 0, s.name.clone());
        push(
            EvidenceKind::Description,
            0,
            format!("{}: {}", s.name, s.description),
        );
        if !s.keywords.is_empty() {
            push(
                EvidenceKind::Keywords,
                0,
                format!("{}: {}", s.name, s.keywords.join(", ")),
            );
        }
        for (n, e) in s
            .examples
            .iter()
            .filter(|e| !e.trim().is_empty())
            .enumerate()
        {
            push(EvidenceKind::Example, n, e.clone());
        }
    }
    docs
}

/// The catalogue's vectors as the scorers need them.
pub struct CatalogueVectors {
    /// Normalised mean of each service's document vectors, by service id.
    pub centroids: HashMap<String, Vec<f32>>,
    /// Whether the index collection had to be rebuilt.
    pub rebuilt: bool,
}

/// Brings the catalogue collection up to date and computes the service centroids. Vectors
/// come from the embedding cache, so an unchanged catalogue embeds nothing.
pub async fn sync(
    catalogue: &Catalogue,
    embedder: &Embedder,
    index: &dyn VectorIndex,
    store: &Store,
) -> Result<CatalogueVectors, TriageError> {
    let tag = format!("{}:{}", catalogue.fingerprint(), embedder.info().id);
    index
        .ensure_collection(CATALOGUE_COLLECTION, embedder.info().dimension)
        .await?;
    let docs = documents(catalogue);
    let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
    let vectors = embed_cached(embedder, store, &texts, &|_, _| {}).await?;
    let centroids = centroids(&docs, &vectors);
    if index.tag(CATALOGUE_COLLECTION).await?.as_deref() == Some(tag.as_str()) {
        return Ok(CatalogueVectors {
            centroids,
            rebuilt: false,
        });
    }
    let points = docs
        .into_iter()
        .zip(vectors)
        .map(|(d, vector)| Point {
            id: d.id,
            vector,
            payload: Payload {
                service_id: d.service_id,
                department_id: d.department_id,
                kind: kind_name(d.kind).into(),
                text: d.text,
                status: None,
            },
        })
        .collect();
    index
        .replace_all(CATALOGUE_COLLECTION, points, &tag)
        .await?;
    Ok(CatalogueVectors {
        centroids,
        rebuilt: true,
    })
}

fn centroids(docs: &[Document], vectors: &[Vec<f32>]) -> HashMap<String, Vec<f32>> {
    let mut sums: HashMap<String, Vec<f32>> = HashMap::new();
    for (d, v) in docs.iter().zip(vectors) {
        let sum = sums
            .entry(d.service_id.clone())
            .or_insert_with(|| vec![0.0; v.len()]);
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
    }
    for sum in sums.values_mut() {
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        sum.iter_mut().for_each(|x| *x /= norm);
    }
    sums
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::Ordering};

    use super::*;
    use crate::{embed::worker::tests::HashEncoder, index::EmbeddedIndex};

    const DEMO: &str = include_str!("../../config/catalogue.toml");

    #[test]
    fn every_service_contributes_name_description_and_examples() {
        let c = Catalogue::parse(DEMO, "demo").unwrap();
        let docs = documents(&c);
        for s in &c.services {
            let own: Vec<_> = docs.iter().filter(|d| d.service_id == s.id).collect();
            assert!(own.len() >= 2 + s.examples.len());
            assert!(own.iter().all(|d| d.department_id == s.department));
        }
        let ids: std::collections::HashSet<_> = docs.iter().map(|d| &d.id).collect();
        assert_eq!(ids.len(), docs.len(), "document ids are unique");
    }

    #[tokio::test]
    async fn rebuilds_only_when_catalogue_changes_and_reuses_cached_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
            .await
            .unwrap();
        let index = EmbeddedIndex::open(&dir.path().join("index")).unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let embedder = Embedder::spawn(
            Box::new(HashEncoder {
                dim: 32,
                calls: calls.clone(),
            }),
            8,
        );
        let c = Catalogue::parse(DEMO, "demo").unwrap();
        let first = sync(&c, &embedder, &index, &store).await.unwrap();
        assert!(first.rebuilt);
        assert_eq!(first.centroids.len(), c.services.len());
        let norm: f32 = first.centroids[&c.services[0].id]
            .iter()
            .map(|x| x * x)
            .sum();
        assert!((norm - 1.0).abs() < 1e-4);
        let first_calls = calls.load(Ordering::SeqCst);
        assert!(first_calls > 0);
        assert!(!sync(&c, &embedder, &index, &store).await.unwrap().rebuilt);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            first_calls,
            "unchanged catalogue embeds nothing"
        );
        assert_eq!(
            index.count(CATALOGUE_COLLECTION).await.unwrap(),
            documents(&c).len()
        );

        // A changed catalogue rebuilds the index but embeds only the new text.
        let changed = DEMO.replacen(
            "examples = [",
            "examples = [\"Eine ganz neue Beispielanfrage\", ",
            1,
        );
        let c2 = Catalogue::parse(&changed, "demo").unwrap();
        calls.store(0, Ordering::SeqCst);
        assert!(sync(&c2, &embedder, &index, &store).await.unwrap().rebuilt);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one batch for the one new text"
        );
    }
}
