//! What a citizen sent: validated text, the channel it came through, and where its case
//! stands.

use serde::{Deserialize, Serialize};

use super::RouteStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Api,
    Web,
    Email,
    Open311,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Open311 => "open311",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Channel::Api, Channel::Web, Channel::Email, Channel::Open311]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where an inquiry stands: waiting for the pipeline, decided (routed or in review), or
/// given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InquiryStatus {
    Received,
    Routed,
    Review,
    Failed,
}

impl InquiryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Routed => "routed",
            Self::Review => "review",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Received, Self::Routed, Self::Review, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl From<RouteStatus> for InquiryStatus {
    fn from(s: RouteStatus) -> Self {
        match s {
            RouteStatus::Routed => Self::Routed,
            RouteStatus::Review => Self::Review,
        }
    }
}

/// Inquiry text that has been checked once: not blank, within the length limit, without
/// NUL or other control characters that would corrupt storage or logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquiryText(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidText {
    #[error("the inquiry text is empty")]
    Empty,
    #[error("the inquiry text has {chars} characters; at most {max} are accepted")]
    TooLong { chars: usize, max: usize },
}

impl InquiryText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, InvalidText> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() {
            return Err(InvalidText::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > max_chars {
            return Err(InvalidText::TooLong {
                chars,
                max: max_chars,
            });
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_control_only_text_is_empty() {
        assert_eq!(InquiryText::parse("  \n\t ", 10), Err(InvalidText::Empty));
        assert_eq!(
            InquiryText::parse("\u{0}\u{7}", 10),
            Err(InvalidText::Empty)
        );
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(InquiryText::parse("äöüß", 4).is_ok());
        assert_eq!(
            InquiryText::parse("äöüßx", 4),
            Err(InvalidText::TooLong { chars: 5, max: 4 })
        );
    }

    #[test]
    fn strips_control_characters_but_keeps_newlines() {
        let t = InquiryText::parse(" Lampe\u{0} kaputt\nHausnr. 7 ", 100).unwrap();
        assert_eq!(t.as_str(), "Lampe kaputt\nHausnr. 7");
    }

    #[test]
    fn channel_names_round_trip() {
        for c in [Channel::Api, Channel::Web, Channel::Email, Channel::Open311] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            InquiryStatus::Received,
            InquiryStatus::Routed,
            InquiryStatus::Review,
            InquiryStatus::Failed,
        ] {
            assert_eq!(InquiryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(InquiryStatus::parse("closed"), None);
    }
}
