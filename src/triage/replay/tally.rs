//! What a period or month of the replay counts.

use serde::Serialize;

/// The outcome of one period or month.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tally {
    pub inquiries: usize,
    /// Routed to the right service by the version in place.
    pub correct: usize,
    /// At or above the version's threshold: routed without a clerk.
    pub auto_routed: usize,
    /// … of which to the wrong service (a clerk finds it later).
    pub auto_misrouted: usize,
    /// Below the threshold: a clerk reviewed it, and corrected the suggestion this often.
    pub reviewed: usize,
    pub review_corrected: usize,
}

impl Tally {
    pub(super) fn add(&mut self, correct: bool, auto: bool) {
        self.inquiries += 1;
        self.correct += usize::from(correct);
        if auto {
            self.auto_routed += 1;
            self.auto_misrouted += usize::from(!correct);
        } else {
            self.reviewed += 1;
            self.review_corrected += usize::from(!correct);
        }
    }

    pub(super) fn merge(&mut self, other: &Tally) {
        self.inquiries += other.inquiries;
        self.correct += other.correct;
        self.auto_routed += other.auto_routed;
        self.auto_misrouted += other.auto_misrouted;
        self.reviewed += other.reviewed;
        self.review_corrected += other.review_corrected;
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.inquiries)
    }

    pub fn auto_share(&self) -> f64 {
        ratio(self.auto_routed, self.inquiries)
    }

    /// Misrouted among the auto-routed (0 when nothing was auto-routed).
    pub fn misroute_rate(&self) -> f64 {
        ratio(self.auto_misrouted, self.auto_routed)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
