//! Translation between our index types and Qdrant's: point ids, payloads, filters and
//! errors. Kept apart from the client calls so it can be tested without a server.

use std::collections::HashMap;

use qdrant_client::{
    QdrantError,
    qdrant::{Condition, Filter as QdrantFilter, PointId, Value},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::index::{Filter, IndexError, Payload};

/// What a point's payload looks like in Qdrant: our payload plus the original string id.
#[derive(Serialize, Deserialize)]
pub struct StoredPayload {
    pub id: String,
    #[serde(flatten)]
    pub payload: Payload,
}

#[derive(Serialize, Deserialize)]
pub struct StoredTag {
    pub collection: String,
    pub tag: String,
}

/// The Qdrant point id for one of our ids: a name-based UUID, stable across replicas.
pub fn point_id(id: &str) -> PointId {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("urn:anliegen:point:{id}").as_bytes(),
    )
    .to_string()
    .into()
}

/// Maps a client error to ours. Messages carry the gRPC code and the server's text only:
/// Qdrant's messages name collections and fields, never payload values.
pub fn backend(collection: &str, operation: &str, e: QdrantError) -> IndexError {
    match &e {
        QdrantError::ResponseError { status } if status.code() == tonic::Code::NotFound => {
            IndexError::NoCollection(collection.to_string())
        }
        QdrantError::ResponseError { status }
        | QdrantError::ResourceExhaustedError { status, .. } => IndexError::Backend(format!(
            "{operation} on '{collection}': {:?}: {}",
            status.code(),
            status.message()
        )),
        _ => IndexError::Backend(format!("{operation} on '{collection}': {e}")),
    }
}

pub fn to_qdrant_payload<T: Serialize>(value: &T) -> Result<qdrant_client::Payload, IndexError> {
    let json = serde_json::to_value(value).expect("payload serialises");
    qdrant_client::Payload::try_from(json)
        .map_err(|_| IndexError::Backend("payload is not a JSON object".into()))
}

pub fn from_qdrant_payload<T: for<'de> Deserialize<'de>>(
    collection: &str,
    fields: HashMap<String, Value>,
) -> Result<T, IndexError> {
    let json = serde_json::Value::from(qdrant_client::Payload::from(fields));
    serde_json::from_value(json).map_err(|e| {
        // serde's message may quote a value; only its category is reported.
        IndexError::Backend(format!(
            "point in '{collection}' has an unexpected payload ({:?})",
            e.classify()
        ))
    })
}

pub fn qdrant_filter(filter: &Filter) -> Option<QdrantFilter> {
    let conditions: Vec<Condition> = [
        ("department_id", &filter.department_id),
        ("status", &filter.status),
    ]
    .into_iter()
    .filter_map(|(field, value)| value.clone().map(|v| Condition::matches(field, v)))
    .collect();
    (!conditions.is_empty()).then(|| QdrantFilter::must(conditions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_ids_are_stable_uuids() {
        assert_eq!(point_id("svc:example:0"), point_id("svc:example:0"));
        assert_ne!(point_id("svc:example:0"), point_id("svc:example:1"));
        let PointId {
            point_id_options: Some(qdrant_client::qdrant::point_id::PointIdOptions::Uuid(u)),
        } = point_id("a")
        else {
            panic!("not a uuid point id");
        };
        assert_eq!(Uuid::parse_str(&u).unwrap().get_version_num(), 5);
    }

    #[test]
    fn payload_round_trips_with_the_original_id() {
        let stored = StoredPayload {
            id: "svc:example:3".into(),
            payload: Payload {
                service_id: "svc".into(),
                department_id: "dept".into(),
                kind: "example".into(),
                text: "Text".into(),
                status: Some("routed".into()),
            },
        };
        let q = to_qdrant_payload(&stored).unwrap();
        let fields: HashMap<String, Value> = q.into();
        assert!(fields.contains_key("department_id") && fields.contains_key("id"));
        let back: StoredPayload = from_qdrant_payload("c", fields).unwrap();
        assert_eq!(back.id, stored.id);
        assert_eq!(back.payload, stored.payload);
    }

    #[test]
    fn empty_filter_sends_no_conditions() {
        assert!(qdrant_filter(&Filter::default()).is_none());
        let f = qdrant_filter(&Filter {
            department_id: Some("d".into()),
            status: Some("s".into()),
        })
        .unwrap();
        assert_eq!(f.must.len(), 2);
    }
}
