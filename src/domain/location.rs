//! The place an inquiry is about: a point (WGS 84 latitude and longitude) and/or the address
//! the citizen gave, as a form field or an Open311 request carries them. Kept beside the
//! text, never inside it (redaction removes street names from the text, rightly). A place
//! near a home is personal data: it is stored like the sender, never logged, exported and
//! erased with the case; models only ever see coarse cells derived from it.

use serde::{Deserialize, Serialize};

use super::{facts::GeoPoint, inquiry::is_invisible};

/// A checked place: at least one of point and address; the point's coordinates are finite
/// and in range; the address is trimmed, not blank, without control characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A place as a client sends it (`{"lat", "lon", "address"}`, every field optional); only
/// [`LocationInput::parse`] turns it into a [`Location`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvalidLocation {
    #[error("location: lat and lon come together (one of them is missing)")]
    HalfPoint,
    #[error("location: lat must be a number from -90 to 90")]
    Latitude,
    #[error("location: lon must be a number from -180 to 180")]
    Longitude,
    #[error("location: address is longer than {max} characters")]
    AddressTooLong { max: usize },
    #[error("location: address contains a line break or another control character")]
    AddressControl,
}

impl Location {
    /// Longest accepted address.
    pub const MAX_ADDRESS_CHARS: usize = 500;

    /// The point, when the place has one.
    pub fn point(&self) -> Option<GeoPoint> {
        Some(GeoPoint {
            lat: self.lat?,
            lon: self.lon?,
        })
    }

    /// The place from stored columns; `None` when none is set.
    pub fn from_parts(lat: Option<f64>, lon: Option<f64>, address: Option<String>) -> Option<Self> {
        (lat.is_some() || lon.is_some() || address.is_some()).then_some(Self { lat, lon, address })
    }
}

/// Size in kilometres of the grid cell a learned example keeps of its place.
pub const COARSE_CELL_KM: f64 = 0.5;

/// `point` snapped to the centre of its grid cell of about [`COARSE_CELL_KM`]: what training
/// data keeps of a place, so no stored example points at a house.
pub fn coarse(point: GeoPoint) -> GeoPoint {
    let lat_step = COARSE_CELL_KM / 111.32;
    let lat = ((point.lat / lat_step).floor() + 0.5) * lat_step;
    let lon_step = lat_step / lat.to_radians().cos().max(0.05);
    let lon = ((point.lon / lon_step).floor() + 0.5) * lon_step;
    GeoPoint { lat, lon }
}

impl LocationInput {
    /// Checks the place once; an empty one (no point, blank address) is none.
    pub fn parse(self) -> Result<Option<Location>, InvalidLocation> {
        let (lat, lon) = match (self.lat, self.lon) {
            (None, None) => (None, None),
            (Some(lat), Some(lon)) => {
                if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
                    return Err(InvalidLocation::Latitude);
                }
                if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
                    return Err(InvalidLocation::Longitude);
                }
                (Some(lat), Some(lon))
            }
            _ => return Err(InvalidLocation::HalfPoint),
        };
        let address = match self.address.as_deref().map(|a| {
            a.trim_matches(|c: char| c.is_whitespace() || is_invisible(c))
                .to_string()
        }) {
            Some(a) if a.is_empty() => None,
            Some(a) if a.chars().any(char::is_control) => {
                return Err(InvalidLocation::AddressControl);
            }
            Some(a) if a.chars().count() > Location::MAX_ADDRESS_CHARS => {
                return Err(InvalidLocation::AddressTooLong {
                    max: Location::MAX_ADDRESS_CHARS,
                });
            }
            other => other,
        };
        Ok(Location::from_parts(lat, lon, address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(lat: Option<f64>, lon: Option<f64>, address: Option<&str>) -> LocationInput {
        LocationInput {
            lat,
            lon,
            address: address.map(str::to_string),
        }
    }

    #[test]
    fn a_point_and_an_address_are_kept() {
        let l = input(Some(47.66), Some(9.17), Some("  Marktstätte 1, Konstanz "))
            .parse()
            .unwrap()
            .unwrap();
        assert_eq!(l.address.as_deref(), Some("Marktstätte 1, Konstanz"));
        assert_eq!(
            l.point(),
            Some(GeoPoint {
                lat: 47.66,
                lon: 9.17
            })
        );
        let only_address = input(None, None, Some("Rathaus")).parse().unwrap().unwrap();
        assert_eq!(only_address.point(), None);
    }

    #[test]
    fn empty_places_are_none() {
        assert_eq!(input(None, None, None).parse(), Ok(None));
        assert_eq!(input(None, None, Some(" \u{200B} ")).parse(), Ok(None));
    }

    #[test]
    fn bad_places_are_refused() {
        assert_eq!(
            input(Some(47.0), None, None).parse(),
            Err(InvalidLocation::HalfPoint)
        );
        assert_eq!(
            input(Some(91.0), Some(9.0), None).parse(),
            Err(InvalidLocation::Latitude)
        );
        assert_eq!(
            input(Some(47.0), Some(f64::NAN), None).parse(),
            Err(InvalidLocation::Longitude)
        );
        assert_eq!(
            input(None, None, Some("Weg 1\r\nBcc: x")).parse(),
            Err(InvalidLocation::AddressControl)
        );
        assert_eq!(
            input(None, None, Some(&"a".repeat(501))).parse(),
            Err(InvalidLocation::AddressTooLong { max: 500 })
        );
    }

    #[test]
    fn coarse_places_are_cell_centres_near_the_point() {
        let p = GeoPoint {
            lat: 47.66031,
            lon: 9.17581,
        };
        let c = coarse(p);
        assert!(
            (c.lat - p.lat).abs() < 0.0023 && (c.lon - p.lon).abs() < 0.0034,
            "{c:?}"
        );
        assert_ne!(c, p);
        assert_eq!(
            coarse(GeoPoint {
                lat: 47.6604,
                lon: 9.1759
            }),
            c,
            "one cell, one centre"
        );
    }

    #[test]
    fn serialises_without_missing_parts() {
        let l = Location::from_parts(Some(47.5), Some(9.0), None).unwrap();
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"lat": 47.5, "lon": 9.0})
        );
        assert_eq!(Location::from_parts(None, None, None), None);
    }
}
