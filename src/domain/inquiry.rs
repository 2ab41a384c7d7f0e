//! What a citizen sent: validated text, the sender to answer and the channel it came
//! through. The text rules here hold for every channel (API, web form, mail).

use serde::{Deserialize, Serialize};

use super::RouteStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
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
/// given up on; or ended by a clerk — spam, not an inquiry at all, merged into another
/// case, closed. A clerk's review of an ended case decides it again (it reopens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InquiryStatus {
    Received,
    Routed,
    Review,
    Failed,
    Spam,
    NotInquiry,
    Merged,
    Closed,
}

impl InquiryStatus {
    pub const ALL: [Self; 8] = [
        Self::Received,
        Self::Routed,
        Self::Review,
        Self::Failed,
        Self::Spam,
        Self::NotInquiry,
        Self::Merged,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Routed => "routed",
            Self::Review => "review",
            Self::Failed => "failed",
            Self::Spam => "spam",
            Self::NotInquiry => "not_inquiry",
            Self::Merged => "merged",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a clerk ended the case (it awaits nothing more).
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Self::Spam | Self::NotInquiry | Self::Merged | Self::Closed
        )
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

/// Inquiry text that has been checked once: not blank (nor made only of invisible
/// characters), within the length limit, without NUL or other control characters that
/// would corrupt storage or logs.
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
        // Invisible characters stay inside the text (joiners carry meaning in emoji and
        // some scripts) but count as blank at its ends and never make a text non-empty.
        let trimmed = cleaned.trim_matches(is_blank);
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

/// The part of an inquiry text the model works on: its first `max_chars` characters. A
/// longer text is stored whole; redaction, embedding and the vector index see this prefix.
pub fn model_text(text: &str, max_chars: usize) -> &str {
    text.char_indices()
        .nth(max_chars)
        .map_or(text, |(end, _)| &text[..end])
}

/// Whitespace or a character that shows nothing.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

/// Unicode's default-ignorable code points (zero-width spaces and joiners, bidi controls,
/// variation selectors, tag characters, Hangul fillers, …) and the blank Braille pattern:
/// all render as nothing and are used to make an empty text look non-empty.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Who to answer: an address (or name) checked once. Control characters are refused
/// everywhere: a CR/LF in a sender would be a header injection wherever it is written into
/// a mail, and it would forge lines in logs and exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSender {
    #[error("sender is longer than {max} characters")]
    TooLong { max: usize },
    #[error("sender contains a line break or another control character")]
    ControlCharacter,
}

impl Sender {
    /// Longest accepted sender (the longest valid email address).
    pub const MAX_CHARS: usize = 320;

    /// Trims; a blank sender is none.
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidSender> {
        let trimmed = raw.trim_matches(is_blank);
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidSender::ControlCharacter);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidSender::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Some(Self(trimmed.to_string())))
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
    fn text_of_only_invisible_characters_is_empty() {
        for raw in [
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            " \u{2800}\u{3164}\u{00AD} \u{E0041}\u{FE0F}\u{202E} ",
            "\u{3000}\u{200B}\n\u{180E}",
        ] {
            assert_eq!(
                InquiryText::parse(raw, 100),
                Err(InvalidText::Empty),
                "{raw:?}"
            );
        }
        // Inside a text they stay; at its ends they go.
        let t = InquiryText::parse("\u{200B}Familie 👨\u{200D}👩 zieht um\u{200B}", 100).unwrap();
        assert_eq!(t.as_str(), "Familie 👨\u{200D}👩 zieht um");
    }

    #[test]
    fn model_text_is_a_char_prefix() {
        assert_eq!(model_text("Grüße", 3), "Grü");
        assert_eq!(model_text("Grüße", 10), "Grüße");
        assert_eq!(model_text("", 0), "");
    }

    #[test]
    fn senders_with_control_characters_are_refused() {
        assert_eq!(Sender::parse("  "), Ok(None));
        assert_eq!(
            Sender::parse(" erika@example.org ")
                .unwrap()
                .unwrap()
                .into_string(),
            "erika@example.org"
        );
        for raw in [
            "erika@example.org\r\nBcc: all@example.org",
            "erika@example.org\nX",
            "a\u{0}b",
            "a\u{85}b",
        ] {
            assert_eq!(
                Sender::parse(raw),
                Err(InvalidSender::ControlCharacter),
                "{raw:?}"
            );
        }
        assert_eq!(
            Sender::parse(&"a".repeat(321)),
            Err(InvalidSender::TooLong { max: 320 })
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
        for s in InquiryStatus::ALL {
            assert_eq!(InquiryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(InquiryStatus::Closed.as_str(), "closed");
        assert_eq!(InquiryStatus::parse("geschlossen"), None);
    }
}
