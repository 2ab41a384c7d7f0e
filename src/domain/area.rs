//! The area a department is responsible for (a district, a local office's quarter), as a
//! GeoJSON geometry: `Polygon` or `MultiPolygon` with `[longitude, latitude]` positions.
//! `contains` is a pure point-in-polygon test (even-odd rule; holes are the rings after a
//! polygon's first), so routing by place needs no geo library and no IO.

use serde::{Deserialize, Serialize};

use super::facts::GeoPoint;

/// A ring is a closed list of `[lon, lat]` positions (the last may repeat the first).
pub type Ring = Vec<[f64; 2]>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "coordinates", deny_unknown_fields)]
pub enum Area {
    /// Exterior ring first, then holes.
    Polygon(Vec<Ring>),
    MultiPolygon(Vec<Vec<Ring>>),
}

impl Area {
    /// Whether `point` lies inside the area (outside every hole).
    pub fn contains(&self, point: GeoPoint) -> bool {
        match self {
            Self::Polygon(rings) => polygon_contains(rings, point),
            Self::MultiPolygon(polygons) => polygons.iter().any(|p| polygon_contains(p, point)),
        }
    }

    /// A problem with the geometry, if any: every ring needs at least three distinct
    /// positions, and positions must be finite longitudes and latitudes.
    pub fn problem(&self) -> Option<String> {
        let polygons: Vec<&Vec<Ring>> = match self {
            Self::Polygon(rings) => vec![rings],
            Self::MultiPolygon(polygons) => polygons.iter().collect(),
        };
        if polygons.is_empty() || polygons.iter().any(|p| p.is_empty()) {
            return Some("area: a polygon needs an exterior ring".into());
        }
        for ring in polygons.into_iter().flatten() {
            let open = match ring.split_last() {
                Some((last, rest)) if rest.first() == Some(last) => rest,
                _ => ring.as_slice(),
            };
            if open.len() < 3 {
                return Some("area: a ring needs at least three positions".into());
            }
            if let Some(p) = ring.iter().find(|[lon, lat]| {
                !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0)
            }) {
                return Some(format!(
                    "area: position [{}, {}] is not a longitude and latitude",
                    p[0], p[1]
                ));
            }
        }
        None
    }
}

fn polygon_contains(rings: &[Ring], point: GeoPoint) -> bool {
    let mut rings = rings.iter();
    let Some(exterior) = rings.next() else {
        return false;
    };
    ring_contains(exterior, point) && !rings.any(|hole| ring_contains(hole, point))
}

/// Even-odd ray casting towards increasing longitude.
fn ring_contains(ring: &[[f64; 2]], point: GeoPoint) -> bool {
    let (x, y) = (point.lon, point.lat);
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[(i + n - 1) % n];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lon: f64, lat: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    fn square(x0: f64, y0: f64, size: f64) -> Ring {
        vec![
            [x0, y0],
            [x0 + size, y0],
            [x0 + size, y0 + size],
            [x0, y0 + size],
            [x0, y0],
        ]
    }

    #[test]
    fn polygon_with_a_hole() {
        let area = Area::Polygon(vec![square(11.0, 48.0, 1.0), square(11.4, 48.4, 0.2)]);
        assert!(area.contains(at(11.1, 48.1)));
        assert!(!area.contains(at(11.5, 48.5)), "inside the hole");
        assert!(!area.contains(at(12.5, 48.5)), "outside");
        assert_eq!(area.problem(), None);
    }

    #[test]
    fn multipolygon_is_any_of_its_parts() {
        let area = Area::MultiPolygon(vec![
            vec![square(0.0, 0.0, 1.0)],
            vec![square(5.0, 5.0, 1.0)],
        ]);
        assert!(area.contains(at(5.5, 5.5)));
        assert!(area.contains(at(0.5, 0.5)));
        assert!(!area.contains(at(3.0, 3.0)));
    }

    #[test]
    fn geojson_round_trip_and_degenerate_rings() {
        let json = r#"{"type":"Polygon","coordinates":[[[11.5,48.1],[11.6,48.1],[11.6,48.2],[11.5,48.1]]]}"#;
        let area: Area = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&area).unwrap(), json);
        assert!(
            Area::Polygon(vec![vec![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]])
                .problem()
                .unwrap()
                .contains("three positions")
        );
        assert!(
            Area::Polygon(vec![vec![[0.0, 0.0], [1.0, 100.0], [1.0, 0.0]]])
                .problem()
                .is_some()
        );
        assert!(serde_json::from_str::<Area>(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
    }
}
