//! The table `anliegen eval --replay` prints.

use super::ReplayResult;

impl ReplayResult {
    /// The table `anliegen eval --replay` prints.
    pub fn table(&self) -> String {
        let pct = |x: f64| format!("{:.1} %", x * 100.0);
        let mut s = format!(
            "replayed {} rows from {} to {} in periods of {} days ({}; {} classes; {} skipped, {} without a date); {} trainings, {:.1} s in all; {}\n",
            self.replayed_rows,
            self.first_day.map(|d| d.to_string()).unwrap_or_default(),
            self.last_day.map(|d| d.to_string()).unwrap_or_default(),
            self.period_days,
            if self.cold_start {
                "cold start: the first version knew only the catalogue".to_string()
            } else {
                format!("first trained on {} rows", self.training_rows)
            },
            self.classes,
            self.skipped,
            self.undated,
            self.trainings,
            self.train_seconds,
            crate::triage::metrics::texts_note(self.redacted),
        );
        if !self.unknown_labels.is_empty() {
            s += &format!(
                "labels not in the catalogue (rows skipped): {}\n",
                self.unknown_labels.join(", ")
            );
        }
        s += &format!(
            "\n{:<9}{:>10}{:>10}{:>13}{:>12}{:>12}{:>11}\n",
            "month", "inquiries", "accuracy", "auto-routed", "misrouted", "reviewed", "corrected"
        );
        for m in self.months.iter().chain(std::iter::once(&self.total)) {
            let t = &m.tally;
            s += &format!(
                "{:<9}{:>10}{:>10}{:>13}{:>12}{:>12}{:>11}\n",
                m.month,
                t.inquiries,
                pct(m.accuracy),
                pct(m.auto_share),
                if t.auto_routed == 0 {
                    "—".to_string()
                } else {
                    pct(m.misroute_rate)
                },
                t.reviewed,
                t.review_corrected
            );
        }
        s += &format!(
            "\nauto-routed: {} of all inquiries, {} of them misrouted (budget {})\n",
            pct(self.auto_share),
            pct(self.misroute_rate),
            pct(f64::from(self.max_misroute_rate))
        );
        s
    }
}
