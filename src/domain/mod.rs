//! Pure domain types: the service catalogue, case numbers, inquiries, routing decisions and
//! the mail anliegen sends.
//! Nothing here performs IO beyond reading the catalogue text it is handed.

pub mod area;
pub mod case;
pub mod catalogue;
pub mod decision;
pub mod facts;
pub mod inquiry;
pub mod outbound;

pub use area::Area;
pub use case::CaseNumber;
pub use catalogue::{Catalogue, CatalogueError, Department, Meta, Service};
pub use decision::{Candidate, Decision, Evidence, EvidenceKind, RouteStatus};
pub use facts::{Fact, Facts, GeoPoint, Link, Office};
pub use inquiry::{Channel, InquiryStatus, InquiryText, Sender};
pub use outbound::{Outbound, OutboundKind};
