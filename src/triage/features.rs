//! Lexical features beside the dense embedding: hashed character n-grams (3–5) and words
//! over a folded form of the text (lower case, ä→ae, ö→oe, ü→ue, ß→ss), weighted by
//! sublinear TF-IDF and L2-normalised. Folding makes "Strassenlaterne" and
//! "Straßenlaterne" share every n-gram; character n-grams tolerate typos.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Number of hash buckets (2^18): few collisions for a municipal vocabulary, small weights.
pub const BUCKETS: u32 = 1 << 18;

/// A sparse, L2-normalised feature vector: (bucket, weight), buckets ascending.
pub type Sparse = Vec<(u32, f32)>;

pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_alphanumeric() => out.push(c),
            _ => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
        }
    }
    out
}

fn bucket(bytes: &[u8], salt: u64) -> u32 {
    // FNV-1a: stable across runs and platforms, so stored models stay valid.
    let h = bytes.iter().fold(0xcbf29ce484222325u64 ^ salt, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    (h % BUCKETS as u64) as u32
}

/// Raw term counts per bucket.
pub fn counts(text: &str) -> HashMap<u32, f32> {
    let folded = format!(" {} ", fold(text).trim());
    let chars: Vec<char> = folded.chars().collect();
    let mut counts: HashMap<u32, f32> = HashMap::new();
    let mut buf = String::new();
    for n in 3..=5 {
        for w in chars.windows(n) {
            buf.clear();
            buf.extend(w);
            *counts.entry(bucket(buf.as_bytes(), n as u64)).or_default() += 1.0;
        }
    }
    for word in folded.split_whitespace() {
        *counts.entry(bucket(word.as_bytes(), 99)).or_default() += 1.0;
    }
    counts
}

/// Document frequencies learned from a training set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Idf {
    documents: u32,
    frequency: HashMap<u32, u32>,
}

impl Idf {
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a HashMap<u32, f32>>) -> Self {
        let mut idf = Self::default();
        for c in texts {
            idf.documents += 1;
            for &b in c.keys() {
                *idf.frequency.entry(b).or_default() += 1;
            }
        }
        idf
    }

    /// Sublinear TF (1 + ln tf) times smoothed IDF, L2-normalised. Buckets never seen in
    /// training carry no weight: the model has nothing learned for them.
    pub fn transform(&self, counts: &HashMap<u32, f32>) -> Sparse {
        let n = self.documents as f32;
        let mut v: Sparse = counts
            .iter()
            .filter_map(|(&b, &tf)| {
                let df = *self.frequency.get(&b)? as f32;
                // Smoothed IDF as in common TF-IDF practice: ln((1+n)/(1+df)) + 1.
                Some((b, (1.0 + tf.ln()) * (((1.0 + n) / (1.0 + df)).ln() + 1.0)))
            })
            .filter(|(_, w)| *w > 0.0)
            .collect();
        v.sort_unstable_by_key(|(b, _)| *b);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &Sparse, b: &Sparse) -> f32 {
        let m: HashMap<u32, f32> = a.iter().copied().collect();
        b.iter().map(|(k, w)| m.get(k).unwrap_or(&0.0) * w).sum()
    }

    #[test]
    fn folding_unifies_umlaut_spellings() {
        assert_eq!(fold("Straßenlaterne GRÜN!"), "strassenlaterne gruen ");
        assert_eq!(counts("Straßenlaterne"), counts("STRASSENLATERNE"));
    }

    #[test]
    fn typos_keep_most_ngrams() {
        let texts = [
            "Strassenlaterne defekt",
            "Strasenlaterne defeckt",
            "Sperrmüll abholen",
        ];
        let c: Vec<_> = texts.iter().map(|t| counts(t)).collect();
        let idf = Idf::fit(&c);
        let v: Vec<Sparse> = c.iter().map(|c| idf.transform(c)).collect();
        assert!(cosine(&v[0], &v[1]) > 0.3, "{}", cosine(&v[0], &v[1]));
        assert!(cosine(&v[0], &v[2]) < 0.1);
        let norm: f32 = v[0].iter().map(|(_, w)| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn unseen_buckets_are_dropped() {
        let idf = Idf::fit(&[counts("Laterne")]);
        assert!(idf.transform(&counts("xyzzy qwv")).is_empty());
    }
}
