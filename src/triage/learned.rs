//! The learned scorer: a trained, calibrated `Classifier` version answering for the
//! catalogue. Auto-routes only at or above the version's risk threshold; otherwise the clerk
//! gets the conformal candidate set. Labels that are no longer in the catalogue are dropped
//! and the rest renormalised, so only existing services can come out.

use super::{
    Query, Scorer, ServiceScore, Verdict, calibration::candidate_set, classifier::Classifier,
};
use crate::domain::{Catalogue, RouteStatus};

/// Leads every stored version; bumped whenever the classifier's layout changes, so an old
/// version is refused with a clear message instead of being misread.
const FORMAT: &[u8] = b"anliegen-classifier-4\n";

pub struct LearnedScorer {
    pub classifier: Classifier,
    pub version: i64,
}

impl LearnedScorer {
    pub fn from_bytes(bytes: &[u8], version: i64) -> Result<Self, String> {
        let body = bytes.strip_prefix(FORMAT).ok_or_else(|| {
            format!(
                "model version {version} was stored in an older format; train a new version with `anliegen train` or activate a newer one"
            )
        })?;
        let classifier = bincode::deserialize(body)
            .map_err(|e| format!("model version {version} is unreadable: {e}"))?;
        Ok(Self {
            classifier,
            version,
        })
    }

    pub fn to_bytes(classifier: &Classifier) -> Vec<u8> {
        let mut bytes = FORMAT.to_vec();
        bytes.extend(bincode::serialize(classifier).expect("classifier serialises"));
        bytes
    }
}

impl Scorer for LearnedScorer {
    fn score(&self, catalogue: &Catalogue, q: &Query) -> Vec<ServiceScore> {
        let p = self.classifier.predict(q.text, q.vector, q.place);
        let mut scores: Vec<ServiceScore> = self
            .classifier
            .labels
            .iter()
            .zip(p)
            .filter(|(label, _)| catalogue.service(label).is_some())
            .map(|(label, probability)| ServiceScore {
                service_id: label.clone(),
                probability,
            })
            .collect();
        let total: f32 = scores.iter().map(|s| s.probability).sum();
        if total > 0.0 {
            scores.iter_mut().for_each(|s| s.probability /= total);
        }
        scores.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(a.service_id.cmp(&b.service_id))
        });
        scores
    }

    fn verdict(&self, scores: &[ServiceScore]) -> Verdict {
        let top = scores.first().map_or(0.0, |s| s.probability);
        let probs: Vec<f32> = scores.iter().map(|s| s.probability).collect();
        let candidates = candidate_set(&probs, self.classifier.set_floor).len();
        let budget = self.classifier.params.max_misroute_rate * 100.0;
        let coverage = self.classifier.params.coverage * 100.0;
        let c = &self.classifier;
        let label = scores
            .first()
            .and_then(|s| c.labels.iter().position(|l| *l == s.service_id));
        let group = label.map_or("", |l| c.group(l));
        let of_group = if group.is_empty() {
            String::new()
        } else {
            format!(" of the group \u{201e}{group}\u{201c}")
        };
        let (status, reason) = match label.and_then(|l| c.threshold(l)) {
            Some(t) if top >= t => (
                RouteStatus::Routed,
                format!(
                    "calibrated confidence {top:.3} reaches the threshold {t:.3}{of_group} that keeps its misroutes under {budget:.0} %"
                ),
            ),
            Some(t) => (
                RouteStatus::Review,
                format!(
                    "calibrated confidence {top:.3} is below the threshold {t:.3}{of_group} for a {budget:.0} % misroute budget; the {candidates} candidate(s) contain the right service with {coverage:.0} % probability"
                ),
            ),
            None => (
                RouteStatus::Review,
                format!(
                    "model version {} has no threshold{of_group} within the {budget:.0} % misroute budget; the {candidates} candidate(s) contain the right service with {coverage:.0} % probability",
                    self.version
                ),
            ),
        };
        Verdict {
            status,
            reason,
            candidates,
            calibrated: true,
        }
    }

    fn name(&self) -> String {
        format!("learned-v{}", self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::classifier::{ClassifierParams, tests::catch_all_data};

    #[test]
    fn stored_versions_round_trip_and_old_formats_are_refused_clearly() {
        let (examples, labels) = catch_all_data();
        let c = Classifier::train(&examples, labels, ClassifierParams::default(), &|_, _| {});
        let bytes = LearnedScorer::to_bytes(&c);
        let back = LearnedScorer::from_bytes(&bytes, 3).unwrap();
        let q = &examples[0];
        assert_eq!(
            back.classifier.predict(&q.text, &q.embedding, None),
            c.predict(&q.text, &q.embedding, None)
        );
        let legacy = bincode::serialize(&c).unwrap();
        let err = LearnedScorer::from_bytes(&legacy, 3).err().unwrap();
        assert!(
            err.contains("version 3") && err.contains("older format"),
            "{err}"
        );
        let err = LearnedScorer::from_bytes(&bytes[..bytes.len() / 2], 4)
            .err()
            .unwrap();
        assert!(err.contains("version 4 is unreadable"), "{err}");
    }
}
