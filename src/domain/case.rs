//! Case numbers as citizens see them: `2026-000123` (year, then a per-year sequence).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber {
    pub year: i32,
    pub sequence: u32,
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:06}", self.year, self.sequence)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a case number (expected YYYY-NNNNNN, e.g. 2026-000123)")]
pub struct InvalidCaseNumber(pub String);

impl FromStr for CaseNumber {
    type Err = InvalidCaseNumber;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCaseNumber(s.chars().take(40).collect());
        let (year, seq) = s.split_once('-').ok_or_else(bad)?;
        let digits = |p: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(year, 4..=4) || !digits(seq, 6..=9) {
            return Err(bad());
        }
        Ok(Self {
            year: year.parse().map_err(|_| bad())?,
            sequence: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_padding_and_round_trips() {
        let c = CaseNumber {
            year: 2026,
            sequence: 123,
        };
        assert_eq!(c.to_string(), "2026-000123");
        assert_eq!("2026-000123".parse::<CaseNumber>().unwrap(), c);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2026",
            "2026-12",
            "26-000123",
            "2026-00012a",
            "2026_000123",
            "x-y",
        ] {
            assert!(s.parse::<CaseNumber>().is_err(), "{s}");
        }
    }
}
