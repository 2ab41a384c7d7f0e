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
        if !s.description.trim().is_empty() {
            push(
                EvidenceKind::Description,
                0,
                format!("{}: {}", s.name, s.description),
            );
            // A long description also as passages: one passage can match an inquiry that the
            // whole text, averaged over many topics, does not.
            let parts = passages(&s.description, PASSAGE_CHARS);
            if parts.len() > 1 {
                for (n, p) in parts.into_iter().enumerate() {
                    push(EvidenceKind::Description, n + 1, format!("{}: {p}", s.name));
                }
            }
        }
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

/// Longest passage of a description embedded on its own (characters). Chosen on the Munich
/// zero-shot test set against 200 and whole descriptions only (README, "Zero-shot routing").
const PASSAGE_CHARS: usize = 400;

/// Splits text into passages of at most `limit` characters at paragraph and sentence ends
/// (a single longer sentence stays whole).
pub fn passages(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let paragraph = paragraph.replace('\n', " ");
        let sentences: Vec<&str> = if paragraph.chars().count() > limit {
            paragraph
                .split_inclusive(['.', '!', '?'])
                .map(str::trim)
                .collect()
        } else {
            vec![paragraph.as_str()]
        };
        for sentence in sentences.into_iter().filter(|s| !s.is_empty()) {
            if !current.is_empty() && current.chars().count() + sentence.chars().count() + 1 > limit
            {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(sentence);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
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
    let (docs, vectors) = embedded_documents(catalogue, embedder, store).await?;
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

/// A trained version serves the catalogue only if every service it learned still exists:
/// otherwise its probabilities were spread over services that can no longer be offered.
pub fn check_classes(labels: &[String], catalogue: &Catalogue, version: i64) -> Result<(), String> {
    let gone: Vec<&str> = labels
        .iter()
        .filter(|l| catalogue.service(l).is_none())
        .map(String::as_str)
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    Err(format!(
        "model version {version} was trained for {} service(s) that are no longer in the catalogue ({}{}); train a new version with `anliegen train` or activate one that fits",
        gone.len(),
        gone.iter().take(5).copied().collect::<Vec<_>>().join(", "),
        if gone.len() > 5 { ", …" } else { "" }
    ))
}

/// The catalogue's documents with their vectors (from the cache where possible).
pub async fn embedded_documents(
    catalogue: &Catalogue,
    embedder: &Embedder,
    store: &Store,
) -> Result<(Vec<Document>, Vec<Vec<f32>>), TriageError> {
    let docs = documents(catalogue);
    let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
    let vectors = embed_cached(embedder, store, &texts, &|_, _| {}).await?;
    Ok((docs, vectors))
}

pub fn centroids(docs: &[Document], vectors: &[Vec<f32>]) -> HashMap<String, Vec<f32>> {
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

    #[test]
    fn a_model_of_services_that_left_the_catalogue_is_refused() {
        let c = Catalogue::parse(DEMO, "demo").unwrap();
        let mut labels: Vec<String> = c.services.iter().map(|s| s.id.clone()).collect();
        assert!(check_classes(&labels, &c, 1).is_ok());
        labels.push("abgeschafft".into());
        let problem = check_classes(&labels, &c, 7).unwrap_err();
        assert!(
            problem.starts_with("model version 7 was trained for 1 service(s) that are no longer in the catalogue (abgeschafft)"),
            "{problem}"
        );
    }

    #[test]
    fn long_descriptions_become_passages_short_ones_do_not() {
        assert_eq!(passages("Kurz.", 400), vec!["Kurz."]);
        let long = format!("{}\n\n{}", "Satz eins. ".repeat(30), "Zweiter Absatz.");
        let parts = passages(&long, 100);
        assert!(parts.len() > 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 100), "{parts:?}");
        assert!(
            parts
                .last()
                .unwrap()
                .ends_with("Satz eins. Zweiter Absatz.")
        );
        assert_eq!(
            parts.join(" ").split_whitespace().count(),
            long.split_whitespace().count()
        );
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
