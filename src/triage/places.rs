//! Routing by place, FixMyStreet's per-body rule: a service that several departments handle
//! (its offices belong to more than one, e.g. the local offices of a city's districts) goes
//! to the one whose declared area contains the inquiry's point. Without a point, or when no
//! area contains it, the service's own department stays responsible.

use crate::domain::{Catalogue, GeoPoint, Service};

/// The departments handling `service`: its own first, then those of its offices.
pub fn departments_of<'a>(catalogue: &'a Catalogue, service: &'a Service) -> Vec<&'a str> {
    let mut ids = vec![service.department.as_str()];
    for office in service.offices.iter().filter_map(|o| catalogue.office(o)) {
        if !ids.contains(&office.department.as_str()) {
            ids.push(office.department.as_str());
        }
    }
    ids
}

/// The department responsible for `service` at `place`.
pub fn responsible_department<'a>(
    catalogue: &'a Catalogue,
    service: &'a Service,
    place: Option<GeoPoint>,
) -> &'a str {
    let ids = departments_of(catalogue, service);
    place
        .filter(|_| ids.len() > 1)
        .and_then(|point| {
            ids.iter().copied().find(|id| {
                catalogue
                    .department(id)
                    .and_then(|d| d.area.as_ref())
                    .is_some_and(|a| a.contains(point))
            })
        })
        .unwrap_or(&service.department)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two district offices for one service, each with a square area; a third department
    /// without an area.
    fn catalogue() -> Catalogue {
        let square = |lon: f64, lat: f64| {
            format!(
                "area = {{ type = \"Polygon\", coordinates = [[[{lon}, {lat}], [{}, {lat}], [{}, {}], [{lon}, {}], [{lon}, {lat}]]] }}",
                lon + 0.1,
                lon + 0.1,
                lat + 0.1,
                lat + 0.1
            )
        };
        let text = format!(
            "[catalogue]\nname = \"T\"\n\
             [[departments]]\nid = \"stadt\"\nname = \"Stadt\"\n\
             [[departments]]\nid = \"nord\"\nname = \"Ortsverwaltung Nord\"\n{}\n\
             [[departments]]\nid = \"sued\"\nname = \"Ortsverwaltung Süd\"\n{}\n\
             [[offices]]\nid = \"o-nord\"\nname = \"Büro Nord\"\ndepartment = \"nord\"\n\
             [[offices]]\nid = \"o-sued\"\nname = \"Büro Süd\"\ndepartment = \"sued\"\n\
             [[services]]\nid = \"weg\"\nname = \"Wegschaden\"\ndepartment = \"stadt\"\n\
             description = \"d\"\nexamples = [\"a\", \"b\", \"c\"]\noffices = [\"o-nord\", \"o-sued\"]\n\
             [[services]]\nid = \"pass\"\nname = \"Pass\"\ndepartment = \"stadt\"\n\
             description = \"d\"\nexamples = [\"a\", \"b\", \"c\"]\n",
            square(9.1, 47.7),
            square(9.1, 47.6)
        );
        Catalogue::parse(&text, "test").unwrap()
    }

    #[test]
    fn the_area_containing_the_point_decides_among_several_departments() {
        let c = catalogue();
        let weg = c.service("weg").unwrap();
        let at = |lat, lon| Some(GeoPoint { lat, lon });
        assert_eq!(departments_of(&c, weg), ["stadt", "nord", "sued"]);
        assert_eq!(responsible_department(&c, weg, at(47.75, 9.15)), "nord");
        assert_eq!(responsible_department(&c, weg, at(47.65, 9.15)), "sued");
        assert_eq!(responsible_department(&c, weg, at(48.5, 9.15)), "stadt");
        assert_eq!(responsible_department(&c, weg, None), "stadt");
        let pass = c.service("pass").unwrap();
        assert_eq!(responsible_department(&c, pass, at(47.75, 9.15)), "stadt");
    }
}
