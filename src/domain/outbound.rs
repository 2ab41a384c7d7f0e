//! Mail anliegen sends about a case: what kind it is and everything the relay needs,
//! including the threading headers. Queued by `outbound::notify`, kept in the store's
//! outbox, delivered by a `Mailer`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    /// The acknowledgement to the citizen.
    Ack,
    /// A confident routing forwarded to the department's mailbox.
    Forward,
    /// A clerk's approved reply to the citizen.
    Reply,
}

impl OutboundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Forward => "forward",
            Self::Reply => "reply",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ack, Self::Forward, Self::Reply]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A mail to send, its Message-ID fixed when it is queued so a resend carries the same one.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub inquiry_id: i64,
    pub kind: OutboundKind,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    /// `Auto-Submitted` header value for automatic mail.
    pub auto_submitted: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in [
            OutboundKind::Ack,
            OutboundKind::Forward,
            OutboundKind::Reply,
        ] {
            assert_eq!(OutboundKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OutboundKind::parse("bounce"), None);
    }
}
