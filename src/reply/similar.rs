//! Learning from what clerks send: the replies sent earlier for the same service, ranked
//! by how similar their inquiries were to this one (cosine of character 3–5-gram and word
//! counts over the redacted texts). Only redacted texts are compared and offered.

use std::collections::HashMap;

use serde::Serialize;

use crate::triage::features::counts;

/// A reply sent earlier, as stored (both texts redacted).
pub struct SentReply {
    pub case_number: String,
    pub inquiry: String,
    pub reply: String,
    pub language: Option<String>,
    pub sent_at: String,
}

/// An earlier reply offered as an alternative to the draft.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alternative {
    pub case_number: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub sent_at: String,
    /// 0–1: how similar the earlier inquiry was to this one.
    pub similarity: f32,
}

fn cosine(a: &HashMap<u32, f32>, b: &HashMap<u32, f32>) -> f32 {
    let dot: f32 = a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum();
    let norm = |v: &HashMap<u32, f32>| v.values().map(|x| x * x).sum::<f32>().sqrt();
    let n = norm(a) * norm(b);
    if n == 0.0 { 0.0 } else { dot / n }
}

/// The `limit` most similar earlier replies, most similar first; one per reply text.
pub fn most_similar(inquiry: &str, sent: Vec<SentReply>, limit: usize) -> Vec<Alternative> {
    let query = counts(inquiry);
    let mut ranked: Vec<Alternative> = sent
        .into_iter()
        .map(|s| Alternative {
            similarity: (cosine(&query, &counts(&s.inquiry)) * 1000.0).round() / 1000.0,
            case_number: s.case_number,
            text: s.reply,
            language: s.language,
            sent_at: s.sent_at,
        })
        .collect();
    ranked.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    let mut seen = std::collections::HashSet::new();
    ranked.retain(|a| seen.insert(a.text.clone()));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(case: &str, inquiry: &str, reply: &str) -> SentReply {
        SentReply {
            case_number: case.into(),
            inquiry: inquiry.into(),
            reply: reply.into(),
            language: Some("de".into()),
            sent_at: "2026-12-01T10:00:00Z".into(),
        }
    }

    #[test]
    fn the_most_similar_inquiry_comes_first() {
        let got = most_similar(
            "Die Strassenlaterne vor [ADDRESS] ist kaputt",
            vec![
                sent("2026-000001", "Wie viel kostet ein Reisepass?", "A"),
                sent(
                    "2026-000002",
                    "Die Straßenlaterne in [ADDRESS] ist kaputt",
                    "B",
                ),
                sent("2026-000003", "Laterne flackert", "C"),
            ],
            2,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "B");
        assert!(got[0].similarity > got[1].similarity && got[0].similarity <= 1.0);
    }
}
