//! Pure domain types: the service catalogue, case numbers, inquiries, routing decisions,
//! the mail anliegen sends and the staff roles with the departments an inquiry is in reach of.
//! Nothing here performs IO beyond reading the catalogue text it is handed.

pub mod access;
pub mod area;
pub mod attachment;
pub mod autonomy;
pub mod case;
pub mod catalogue;
pub mod decision;
pub mod facts;
pub mod inquiry;
pub mod location;
pub mod outbound;

pub use access::{InvalidGrant, Role, UserName, check_grant};
pub use area::Area;
pub use attachment::{Attachment, InvalidAttachment};
pub use autonomy::Autonomy;
pub use case::CaseNumber;
pub use catalogue::{Catalogue, CatalogueError, Department, Meta, Service};
pub use decision::{Candidate, Decision, Evidence, EvidenceKind, RouteStatus};
pub use facts::{Fact, Facts, GeoPoint, Link, Office};
pub use inquiry::{Channel, InquiryStatus, InquiryText, Sender};
pub use location::{InvalidLocation, Location, LocationInput};
pub use outbound::{Outbound, OutboundKind};
