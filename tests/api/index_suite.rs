//! One behavioural suite for every `VectorIndex` implementation: the embedded index and a
//! real Qdrant server (`qdrant`). Equal scores have no defined order, so the contract never
//! depends on one. Plus what only the embedded index promises:
//! it survives a reopen, and a damaged log file is rebuilt from the database's embedding
//! cache when the engine starts.

use secrecy::ExposeSecret;
use std::sync::Arc;

use anliegen::{
    app::{self, Engine},
    index::{EmbeddedIndex, Filter, IndexError, Payload, Point, QdrantIndex, VectorIndex},
    store::Store,
    triage::catalogue_index::CATALOGUE_COLLECTION,
};

use crate::helpers::{shared_embedder, test_config};

const QDRANT_PREFIX: &str = "anliegen_test_";

fn point(id: &str, v: [f32; 3], department: &str, status: Option<&str>) -> Point {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    Point {
        id: id.into(),
        vector: v.iter().map(|x| x / norm).collect(),
        payload: Payload {
            service_id: format!("service-{id}"),
            department_id: department.into(),
            kind: "example".into(),
            text: format!("Beispieltext {id}"),
            status: status.map(Into::into),
        },
    }
}

fn ids(hits: &[anliegen::index::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}_{}_{nanos}", std::process::id())
}

/// Everything the trait promises, checked against one implementation. `c` must not exist.
pub async fn index_contract(index: Arc<dyn VectorIndex>, c: &str) {
    let all = Filter::default();

    // Unknown collections are errors, not empty results.
    assert!(matches!(
        index.count(c).await,
        Err(IndexError::NoCollection(_))
    ));
    assert!(matches!(
        index.search(c, &[1., 0., 0.], 3, &all).await,
        Err(IndexError::NoCollection(_))
    ));
    assert!(matches!(
        index
            .upsert(c, vec![point("a", [1., 0., 0.], "d1", None)])
            .await,
        Err(IndexError::NoCollection(_))
    ));
    assert_eq!(index.tag(c).await.unwrap(), None);

    // Creation is idempotent and keeps points.
    index.ensure_collection(c, 3).await.unwrap();
    assert_eq!(index.count(c).await.unwrap(), 0);
    index
        .upsert(
            c,
            vec![
                point("a", [1., 0., 0.], "d1", Some("open")),
                point("b", [1., 1., 0.], "d2", Some("closed")),
                point("c", [0., 1., 0.], "d1", Some("closed")),
                point("d", [0., 0., 1.], "d2", None),
            ],
        )
        .await
        .unwrap();
    index.ensure_collection(c, 3).await.unwrap();
    assert_eq!(index.count(c).await.unwrap(), 4);

    // Ranked by cosine similarity, scores are similarities, payload and id come back.
    let hits = index.search(c, &[1., 0., 0.], 3, &all).await.unwrap();
    assert_eq!(ids(&hits)[..2], ["a", "b"]);
    // `c` and `d` are both orthogonal to the query: either may come third.
    assert!(["c", "d"].contains(&ids(&hits)[2]), "{:?}", ids(&hits));
    assert!((hits[0].score - 1.0).abs() < 1e-4, "{}", hits[0].score);
    assert!((hits[1].score - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4);
    assert!(hits[2].score.abs() < 1e-4);
    assert_eq!(
        hits[0].payload,
        point("a", [1., 0., 0.], "d1", Some("open")).payload
    );

    // A limit beyond the collection returns every point once.
    let hits = index.search(c, &[0., 1., 0.], 100, &all).await.unwrap();
    assert_eq!(hits.len(), 4);
    assert_eq!(ids(&hits)[..2], ["c", "b"]);

    // Filters by department, by status, and both.
    let d2 = Filter {
        department_id: Some("d2".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&index.search(c, &[1., 0., 0.], 10, &d2).await.unwrap()),
        ["b", "d"]
    );
    let closed = Filter {
        status: Some("closed".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&index.search(c, &[1., 0., 0.], 10, &closed).await.unwrap()),
        ["b", "c"]
    );
    let d1_closed = Filter {
        department_id: Some("d1".into()),
        status: Some("closed".into()),
    };
    assert_eq!(
        ids(&index
            .search(c, &[1., 0., 0.], 10, &d1_closed)
            .await
            .unwrap()),
        ["c"]
    );

    // Upserting an existing id replaces its vector and payload.
    index
        .upsert(c, vec![point("a", [0., 0., 1.], "d3", None)])
        .await
        .unwrap();
    assert_eq!(index.count(c).await.unwrap(), 4);
    // `a` now scores like `d`: both come first, in either order.
    let hits = index.search(c, &[0., 0., 1.], 2, &all).await.unwrap();
    let mut top = ids(&hits);
    top.sort();
    assert_eq!(top, ["a", "d"]);
    assert!(hits.iter().all(|h| (h.score - 1.0).abs() < 1e-4));
    let a = hits.iter().find(|h| h.id == "a").unwrap();
    assert_eq!(a.payload.department_id, "d3");

    // Delete removes the point from counts and results; unknown ids are ignored.
    index
        .delete(c, &["d".to_string(), "never-there".to_string()])
        .await
        .unwrap();
    assert_eq!(index.count(c).await.unwrap(), 3);
    let hits = index.search(c, &[0., 0., 1.], 10, &all).await.unwrap();
    assert!(!ids(&hits).contains(&"d"));

    // Wrong dimensions are refused for writes and searches.
    assert!(matches!(
        index
            .upsert(
                c,
                vec![Point {
                    vector: vec![1., 0.],
                    ..point("x", [1., 0., 0.], "d1", None)
                }]
            )
            .await,
        Err(IndexError::Dimension {
            got: 2,
            want: 3,
            ..
        })
    ));
    assert!(matches!(
        index.search(c, &[1., 0., 0., 0.], 3, &all).await,
        Err(IndexError::Dimension {
            got: 4,
            want: 3,
            ..
        })
    ));
    assert_eq!(index.count(c).await.unwrap(), 3);

    // replace_all swaps the whole content and sets the tag; the tag survives ensure.
    assert_eq!(index.tag(c).await.unwrap(), None);
    index
        .replace_all(
            c,
            vec![
                point("p", [0., 1., 1.], "d9", None),
                point("q", [1., 0., 1.], "d9", None),
            ],
            "catalogue-v2",
        )
        .await
        .unwrap();
    assert_eq!(index.count(c).await.unwrap(), 2);
    assert_eq!(index.tag(c).await.unwrap().as_deref(), Some("catalogue-v2"));
    let hits = index.search(c, &[1., 0., 0.], 10, &all).await.unwrap();
    assert_eq!(ids(&hits), ["q", "p"]);
    index.ensure_collection(c, 3).await.unwrap();
    assert_eq!(index.tag(c).await.unwrap().as_deref(), Some("catalogue-v2"));
    assert_eq!(index.count(c).await.unwrap(), 2);

    // Another dimension (another model) starts the collection over, without its tag.
    index.ensure_collection(c, 2).await.unwrap();
    assert_eq!(index.count(c).await.unwrap(), 0);
    assert_eq!(index.tag(c).await.unwrap(), None);
}

#[tokio::test]
async fn embedded_index_fulfils_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(EmbeddedIndex::open(dir.path()).unwrap());
    index_contract(index, "suite").await;
}

#[tokio::test]
async fn qdrant_index_fulfils_the_contract() {
    let Some(url) = crate::qdrant::url() else {
        return;
    };
    let api_key = std::env::var("QDRANT_API_KEY").ok();
    let index = QdrantIndex::connect(&url, api_key.clone().map(Into::into), QDRANT_PREFIX)
        .await
        .unwrap();
    let collection = unique("suite");
    index_contract(Arc::new(index), &collection).await;
    // Leave the shared server as it was.
    let client = qdrant_client::Qdrant::from_url(&url)
        .api_key(api_key)
        .skip_compatibility_check()
        .build()
        .unwrap();
    client
        .delete_collection(format!("{QDRANT_PREFIX}{collection}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn embedded_index_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let index = EmbeddedIndex::open(dir.path()).unwrap();
    index.ensure_collection("c", 3).await.unwrap();
    index
        .replace_all(
            "c",
            vec![
                point("a", [1., 0., 0.], "d1", None),
                point("b", [0., 1., 0.], "d2", None),
            ],
            "v1",
        )
        .await
        .unwrap();
    index.delete("c", &["b".to_string()]).await.unwrap();
    index
        .upsert("c", vec![point("e", [0., 0., 1.], "d2", Some("open"))])
        .await
        .unwrap();
    drop(index);

    let index = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(index.count("c").await.unwrap(), 2);
    assert_eq!(index.tag("c").await.unwrap().as_deref(), Some("v1"));
    let hits = index
        .search("c", &[0., 0., 1.], 10, &Filter::default())
        .await
        .unwrap();
    assert_eq!(ids(&hits), ["e", "a"]);
    assert_eq!(hits[0].payload.status.as_deref(), Some("open"));
}

/// Regression guard: bytes flipped in the middle of the catalogue log must not leave the
/// engine with an empty or wrong catalogue; it is rebuilt from the embedding cache.
#[tokio::test]
async fn damaged_catalogue_log_is_rebuilt_and_routing_still_works() {
    let data = tempfile::tempdir().unwrap();
    let config = test_config(data.path());
    let store = Store::open(config.database.url.expose_secret())
        .await
        .unwrap();
    let text = "Die Straßenlaterne vor Hausnummer 7 ist seit Tagen kaputt";

    let index = app::open_index(&config).await.unwrap();
    let engine = Engine::start(&config, &store, index.clone(), shared_embedder().await)
        .await
        .unwrap();
    let before = engine.router.route(text).await.unwrap();
    let points = index.count(CATALOGUE_COLLECTION).await.unwrap();
    assert!(points > 0);
    drop((engine, index));

    let log = data
        .path()
        .join("index")
        .join(format!("{CATALOGUE_COLLECTION}.log"));
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 16]
        .iter_mut()
        .for_each(|b| *b ^= 0xa5);
    std::fs::write(&log, &bytes).unwrap();
    // The damage is real: the log alone no longer yields the catalogue.
    let damaged = EmbeddedIndex::open(&data.path().join("index")).unwrap();
    assert_eq!(damaged.count(CATALOGUE_COLLECTION).await.unwrap(), 0);
    drop(damaged);

    let index = app::open_index(&config).await.unwrap();
    let engine = Engine::start(&config, &store, index.clone(), shared_embedder().await)
        .await
        .unwrap();
    assert_eq!(index.count(CATALOGUE_COLLECTION).await.unwrap(), points);
    assert!(index.tag(CATALOGUE_COLLECTION).await.unwrap().is_some());
    let after = engine.router.route(text).await.unwrap();
    assert_eq!(after.service.id, "strassenbeleuchtung-defekt");
    assert_eq!(after.service.id, before.service.id);
    assert!((after.confidence - before.confidence).abs() < 1e-4);
}
