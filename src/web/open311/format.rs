//! The GeoReport v2 documents — discovery, services, service definitions, service
//! requests, errors — as serde types, and their two encodings. JSON is serde's; XML is
//! written from the same serialised value (element per field in declaration order, an
//! array as repeated child elements named by the spec's singular) and read back into it,
//! so both formats carry exactly the same fields.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::xml::{self, Element};

/// The element that holds each item of a list, by the list's name (the spec's XML).
fn item_name(list: &str) -> &'static str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "errors" => "error",
        "endpoints" => "endpoint",
        "formats" => "format",
        "attributes" => "attribute",
        "values" => "value",
        "suggestions" => "suggestion",
        "evidence" => "entry",
        _ => "item",
    }
}

/// Writes `items` as the spec's list document `<root><item>…</item>…</root>`.
pub fn xml_list<T: Serialize>(root: &str, items: &[T]) -> String {
    let value = serde_json::to_value(items).unwrap_or(Value::Null);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    element(&mut out, root, &value);
    out
}

/// Writes one document `<root>…fields…</root>`.
pub fn xml_document<T: Serialize>(root: &str, doc: &T) -> String {
    let value = serde_json::to_value(doc).unwrap_or(Value::Null);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    element(&mut out, root, &value);
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&quick_xml::escape::partial_escape(s.as_str())),
        Value::Array(items) => {
            let item = item_name(name);
            for v in items {
                element(out, item, v);
            }
        }
        Value::Object(fields) => {
            for (k, v) in fields {
                element(out, k, v);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(String);

/// Reads a list document written by [`xml_list`] (or another GeoReport v2 server) into its
/// items: each child of the root becomes one value.
pub fn read_xml_list<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Vec<T>, ReadError> {
    let root = xml::parse(text).map_err(|e| ReadError(format!("{e:?}")))?;
    root.children
        .iter()
        .map(|item| serde_json::from_value(value_of(item)).map_err(|e| ReadError(e.to_string())))
        .collect()
}

/// An element as a JSON value: children become an object (a list element's children an
/// array), text a string, an empty element null. Numbers stay strings; the types accept
/// both.
fn value_of(e: &Element) -> Value {
    if e.children.is_empty() {
        // Untrimmed: a description's spaces and line breaks are its own.
        return if e.text.is_empty() {
            Value::Null
        } else {
            Value::String(e.text.clone())
        };
    }
    let item = item_name(&e.name);
    if e.children.iter().all(|c| c.name == item) && item != "item" {
        return Value::Array(e.children.iter().map(value_of).collect());
    }
    let mut map = Map::new();
    for c in &e.children {
        map.insert(c.name.clone(), value_of(c));
    }
    Value::Object(map)
}

/// A number written as a JSON number or, from XML, as text.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("'{t}' is not a number"))),
    }
}

/// A boolean written as JSON or, from XML, as `true`/`false`.
fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Text(t) => Ok(t.trim() == "true"),
    }
}

/// A text that may be written as a number (the Cologne feed's `address_id`).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// One entry of `services.json`: a catalogue service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceInfo {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Whether `services/{code}` has attributes to fill in.
    #[serde(deserialize_with = "boolean")]
    pub metadata: bool,
    /// `realtime`: a request is answered with its id at once.
    #[serde(rename = "type")]
    pub kind: String,
    pub keywords: String,
    pub group: String,
}

/// `services/{code}.json`: the attributes a request for the service may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceDefinition {
    pub service_code: String,
    #[serde(default)]
    pub attributes: Vec<Value>,
}

/// A service request as `requests.json` lists it (GeoReport v2, every field of the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub status_notes: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub service_code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub agency_responsible: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub service_notice: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub requested_datetime: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub updated_datetime: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub expected_datetime: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub address_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub zipcode: Option<String>,
    #[serde(default, deserialize_with = "number")]
    pub lat: Option<f64>,
    #[serde(default, deserialize_with = "number")]
    pub long: Option<f64>,
    #[serde(default, deserialize_with = "text")]
    pub media_url: Option<String>,
}

/// The answer to `POST requests`: the new request's id, and (an extension) the service
/// and agency anliegen routed it to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Created {
    pub service_request_id: String,
    #[serde(default, deserialize_with = "text")]
    pub service_notice: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub service_code: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub agency_responsible: Option<String>,
    /// Where the citizen follows the request (opens with its secret).
    #[serde(default, deserialize_with = "text")]
    pub status_url: Option<String>,
}

/// One error of the spec's error array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorEntry {
    pub code: u16,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub formats: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ServiceRequest {
        ServiceRequest {
            service_request_id: "2026-000001".into(),
            status: "open".into(),
            status_notes: Some("In Bearbeitung <Amt & Co>".into()),
            service_name: Some("Störung der Straßenbeleuchtung melden".into()),
            service_code: Some("strassenbeleuchtung-defekt".into()),
            description: None,
            agency_responsible: Some("Kreisstraßen und Tiefbau".into()),
            service_notice: None,
            requested_datetime: Some("2026-12-02T21:31:41+00:00".into()),
            updated_datetime: Some("2026-12-02T21:31:42+00:00".into()),
            expected_datetime: None,
            address: None,
            address_id: None,
            zipcode: None,
            lat: Some(50.9384079215),
            long: Some(6.83454483747),
            media_url: None,
        }
    }

    #[test]
    fn requests_round_trip_through_xml_with_escaping() {
        let xml = xml_list("service_requests", &[request(), request()]);
        assert!(xml.contains("<status_notes>In Bearbeitung &lt;Amt &amp; Co&gt;</status_notes>"));
        assert!(xml.contains("<request><service_request_id>2026-000001</service_request_id>"));
        let back: Vec<ServiceRequest> = read_xml_list(&xml).unwrap();
        assert_eq!(back, vec![request(), request()]);
    }

    #[test]
    fn errors_are_the_specs_array() {
        let e = [ErrorEntry {
            code: 404,
            description: "no service 'x'".into(),
        }];
        assert_eq!(
            xml_list("errors", &e),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>404</code>\
             <description>no service 'x'</description></error></errors>"
        );
    }

    #[test]
    fn a_service_definition_keeps_its_empty_attribute_list() {
        let d = ServiceDefinition {
            service_code: "x".into(),
            attributes: vec![],
        };
        assert_eq!(
            xml_document("service_definition", &d),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_definition>\
             <service_code>x</service_code><attributes></attributes></service_definition>"
        );
    }
}
