//! Scorers turn an inquiry's nearest catalogue entries into a probability per service.
//! `CatalogueSimilarity` needs no training data: it blends each service's best two matching
//! entries (specific wording) with the similarity to the service's centroid (the mean of all
//! its entries, robust across languages) and normalises with a softmax. Its probabilities
//! are not calibrated; a learned scorer replaces it once labelled inquiries exist.

use std::collections::HashMap;

use crate::{
    domain::{Catalogue, GeoPoint, RouteStatus},
    index::Hit,
};

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceScore {
    pub service_id: String,
    pub probability: f32,
}

/// What the router knows about an inquiry when scoring it.
pub struct Query<'a> {
    /// Redacted text.
    pub text: &'a str,
    pub vector: &'a [f32],
    /// Nearest catalogue entries, best first.
    pub hits: &'a [Hit],
    /// The place the inquiry is about, if known (trained models use its coarse cells).
    pub place: Option<GeoPoint>,
}

/// Whether to auto-route, why, and how many of the best services the clerk is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: RouteStatus,
    pub reason: String,
    pub candidates: usize,
    pub calibrated: bool,
}

pub trait Scorer: Send + Sync {
    /// Scores, highest first; only services of `catalogue` appear (closed set).
    fn score(&self, catalogue: &Catalogue, query: &Query) -> Vec<ServiceScore>;
    /// Routing verdict for scores from `score`.
    fn verdict(&self, scores: &[ServiceScore]) -> Verdict;
    /// Name and version, recorded with every decision.
    fn name(&self) -> String;
}

/// Weight of the centroid similarity against the best matching entries. Chosen on
/// multilingual probe inquiries: centroids carry cross-lingual queries (English, Ukrainian)
/// that single German examples miss.
const CENTROID_WEIGHT: f32 = 0.7;

pub struct CatalogueSimilarity {
    pub temperature: f32,
    pub centroids: HashMap<String, Vec<f32>>,
    /// Uncalibrated confidence needed to auto-route.
    pub min_confidence: f32,
    /// Services listed for the clerk.
    pub candidates: usize,
}

impl Scorer for CatalogueSimilarity {
    fn score(&self, catalogue: &Catalogue, q: &Query) -> Vec<ServiceScore> {
        let query = q.vector;
        // Hits arrive best first, so the first two per service are its best two.
        let mut per_service: HashMap<&str, Vec<f32>> = HashMap::new();
        for h in q.hits {
            if catalogue.service(&h.payload.service_id).is_some() {
                let s = per_service
                    .entry(h.payload.service_id.as_str())
                    .or_default();
                if s.len() < 2 {
                    s.push(h.score);
                }
            }
        }
        let raw: Vec<(&str, f32)> = per_service
            .into_iter()
            .map(|(id, s)| {
                let second = s.get(1).copied().unwrap_or(s[0] - 0.02);
                let local = 0.7 * s[0] + 0.3 * second;
                let centroid = self.centroids.get(id).map_or(local, |c| dot(c, query));
                (
                    id,
                    CENTROID_WEIGHT * centroid + (1.0 - CENTROID_WEIGHT) * local,
                )
            })
            .collect();
        softmax_sorted(raw, self.temperature)
    }

    fn verdict(&self, scores: &[ServiceScore]) -> Verdict {
        let top = scores.first().map_or(0.0, |s| s.probability);
        let (status, reason) = if top >= self.min_confidence {
            (
                RouteStatus::Routed,
                format!(
                    "confidence {top:.2} reaches triage.min_confidence {:.2} (no trained model yet: uncalibrated)",
                    self.min_confidence
                ),
            )
        } else {
            (
                RouteStatus::Review,
                format!(
                    "confidence {top:.2} is below triage.min_confidence {:.2}; a clerk decides between the candidates",
                    self.min_confidence
                ),
            )
        };
        Verdict {
            status,
            reason,
            candidates: self.candidates.max(1),
            calibrated: false,
        }
    }

    fn name(&self) -> String {
        "catalogue-similarity-v2".into()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax_sorted(raw: Vec<(&str, f32)>, temperature: f32) -> Vec<ServiceScore> {
    let t = temperature.max(1e-4);
    let max = raw
        .iter()
        .map(|(_, s)| *s)
        .fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = raw.iter().map(|(_, s)| ((s - max) / t).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut out: Vec<ServiceScore> = raw
        .iter()
        .zip(exp)
        .map(|((id, _), e)| ServiceScore {
            service_id: id.to_string(),
            probability: e / sum,
        })
        .collect();
    out.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.service_id.cmp(&b.service_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Payload;

    fn catalogue() -> Catalogue {
        let mut t = String::from(
            "[catalogue]\nname = \"T\"\n[[departments]]\nid = \"d\"\nname = \"D\"\nmailbox = \"d@example.org\"\n",
        );
        for s in ["a", "b", "c"] {
            t.push_str(&format!(
                "[[services]]\nid = \"{s}\"\nname = \"{s}\"\ndepartment = \"d\"\ndescription = \"x\"\nexamples = [\"1\", \"2\", \"3\"]\n"
            ));
        }
        Catalogue::parse(&t, "t").unwrap()
    }

    fn scorer(temperature: f32, centroids: HashMap<String, Vec<f32>>) -> CatalogueSimilarity {
        CatalogueSimilarity {
            temperature,
            centroids,
            min_confidence: 0.5,
            candidates: 5,
        }
    }

    fn query<'a>(vector: &'a [f32], hits: &'a [Hit]) -> Query<'a> {
        Query {
            text: "",
            vector,
            hits,
            place: None,
        }
    }

    #[test]
    fn verdict_follows_the_minimum_confidence() {
        let s = scorer(0.02, HashMap::new());
        let score = |p| {
            vec![ServiceScore {
                service_id: "a".into(),
                probability: p,
            }]
        };
        assert_eq!(s.verdict(&score(0.7)).status, RouteStatus::Routed);
        let v = s.verdict(&score(0.3));
        assert_eq!(
            (v.status, v.candidates, v.calibrated),
            (RouteStatus::Review, 5, false)
        );
    }

    fn hit(service: &str, score: f32) -> Hit {
        Hit {
            id: format!("{service}{score}"),
            score,
            payload: Payload {
                service_id: service.into(),
                department_id: "d".into(),
                kind: "example".into(),
                text: String::new(),
                status: None,
            },
        }
    }

    #[test]
    fn best_supported_service_wins_and_probabilities_sum_to_one() {
        let hits = [
            hit("a", 0.90),
            hit("b", 0.89),
            hit("b", 0.88),
            hit("a", 0.80),
            hit("ghost", 0.99),
        ];
        let s = scorer(0.02, HashMap::new()).score(&catalogue(), &query(&[], &hits));
        assert_eq!(s.len(), 2, "unknown services never come out");
        assert_eq!(s[0].service_id, "b");
        let total: f32 = s.iter().map(|x| x.probability).sum();
        assert!((total - 1.0).abs() < 1e-5);
    }

    #[test]
    fn centroid_similarity_can_outweigh_a_single_close_entry() {
        let hits = [hit("a", 0.90), hit("b", 0.86), hit("b", 0.85)];
        let centroids = HashMap::from([
            ("a".to_string(), vec![1.0, 0.0]),
            ("b".to_string(), vec![0.0, 1.0]),
        ]);
        let s = scorer(0.02, centroids).score(&catalogue(), &query(&[0.0, 1.0], &hits));
        assert_eq!(s[0].service_id, "b");
    }

    #[test]
    fn lower_temperature_sharpens() {
        let hits = [hit("a", 0.90), hit("b", 0.88)];
        let c = catalogue();
        let soft = scorer(0.1, HashMap::new()).score(&c, &query(&[], &hits));
        let sharp = scorer(0.01, HashMap::new()).score(&c, &query(&[], &hits));
        assert!(sharp[0].probability > soft[0].probability);
    }
}
