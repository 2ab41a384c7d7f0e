//! Personal data protection: redaction of PII before text is embedded, indexed, logged or
//! shown beside other cases.

pub mod redact;
pub mod redact_corpus;
