//! anliegen: on-premises triage and routing of citizens' inquiries. Intake stores an
//! inquiry durably, a local multilingual encoder embeds it, the router matches it against
//! the administration's service catalogue and decides the responsible department with its
//! confidence and evidence.

pub mod app;
pub mod catalogue;
pub mod config;
pub mod domain;
pub mod embed;
pub mod index;
pub mod intake;
pub mod outbound;
pub mod pipeline;
pub mod privacy;
pub mod reply;
pub mod store;
pub mod triage;
pub mod web;
