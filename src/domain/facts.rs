//! The facts a reply needs about a service and the offices that provide it: required
//! documents, prerequisites, fees, deadlines, processing time, forms, links, the online
//! service, and each office's address, opening hours, phone and email. Every fact carries
//! the field of the source catalogue it came from, so a reply can cite it
//! ("fee: DLDB services[1063475].fees").

use serde::{Deserialize, Serialize};

/// One piece of text taken from a source catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub text: String,
    /// Where it came from, e.g. `DLDB services[1063475].fees` or `XZuFi leistung[L1].modulKosten`.
    pub source: String,
}

/// A named link (form, further information, online service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub title: String,
    pub url: String,
    pub source: String,
}

/// What a reply may say about a service; everything optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_time: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_service: Option<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A WGS84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A place where citizens are served: the responsible office of a service, with its
/// contact details. Belongs to one department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub id: String,
    pub name: String,
    pub department: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<GeoPoint>,
}
