//! Lexical features beside the dense embedding: hashed character n-grams (3–5) and words
//! over a folded form of the text (lower case, ä→ae, ö→oe, ü→ue, ß→ss), weighted by
//! sublinear TF-IDF and L2-normalised. Folding makes "Strassenlaterne" and
//! "Straßenlaterne" share every n-gram; character n-grams tolerate typos.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::GeoPoint;

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

/// Sizes in kilometres of the grid cells a place falls into: from a district down to a few
/// streets. Only these coarse cells reach the model (as hashed features); coordinates never do.
pub const PLACE_CELL_KM: [f64; 4] = [4.0, 2.0, 1.0, 0.5];

/// The grid cells of `point` at every size of [`PLACE_CELL_KM`], as hashed buckets with
/// equal weights whose squared sum is `weight`². Cells are about square: the longitude step
/// widens with the latitude of the cell's row.
pub fn place_features(point: GeoPoint, weight: f32) -> Sparse {
    if weight <= 0.0 {
        return Vec::new();
    }
    let w = weight / (PLACE_CELL_KM.len() as f32).sqrt();
    let mut v: Sparse = PLACE_CELL_KM
        .iter()
        .enumerate()
        .map(|(level, km)| {
            let lat_step = km / 111.32;
            let row = (point.lat / lat_step).floor();
            let row_lat = ((row + 0.5) * lat_step).to_radians().cos().max(0.05);
            let column = (point.lon / (lat_step / row_lat)).floor();
            let cell = format!("{row}:{column}");
            (bucket(cell.as_bytes(), 1000 + level as u64), w)
        })
        .collect();
    v.sort_unstable_by_key(|(b, _)| *b);
    v.dedup_by_key(|(b, _)| *b);
    v
}

/// `text` features with `place` features added (a bucket both use adds up).
pub fn with_place(text: Sparse, place: Sparse) -> Sparse {
    if place.is_empty() {
        return text;
    }
    let mut all: HashMap<u32, f32> = text.into_iter().collect();
    for (b, w) in place {
        *all.entry(b).or_default() += w;
    }
    let mut v: Sparse = all.into_iter().collect();
    v.sort_unstable_by_key(|(b, _)| *b);
    v
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

    #[test]
    fn near_places_share_coarse_cells_and_far_ones_none() {
        let market = GeoPoint {
            lat: 47.6603,
            lon: 9.1758,
        };
        let nearby = GeoPoint {
            lat: 47.6612,
            lon: 9.1771,
        };
        let dettingen = GeoPoint {
            lat: 47.7478,
            lon: 9.1296,
        };
        let (a, b, c) = (
            place_features(market, 1.0),
            place_features(nearby, 1.0),
            place_features(dettingen, 1.0),
        );
        assert_eq!(a.len(), PLACE_CELL_KM.len());
        let norm: f32 = a.iter().map(|(_, w)| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        // Neighbours share at least the coarsest cell; places in other districts none.
        assert!(cosine(&a, &b) >= 0.25, "{a:?} {b:?}");
        assert_eq!(cosine(&a, &c), 0.0);
        assert!(place_features(market, 0.0).is_empty());
    }
}
