//! Search, filters, persistence and recovery of the embedded index.

use super::*;

fn point(id: &str, v: [f32; 2], dept: &str) -> Point {
    Point {
        id: id.into(),
        vector: v.to_vec(),
        payload: Payload {
            service_id: format!("s-{id}"),
            department_id: dept.into(),
            kind: "example".into(),
            text: format!("text {id}"),
            status: None,
        },
    }
}

#[tokio::test]
async fn search_ranks_filters_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    idx.ensure_collection("c", 2).await.unwrap();
    idx.upsert(
        "c",
        vec![
            point("a", [1., 0.], "x"),
            point("b", [0.6, 0.8], "y"),
            point("c", [0., 1.], "x"),
        ],
    )
    .await
    .unwrap();
    idx.delete("c", &["c".into()]).await.unwrap();
    idx.upsert("c", vec![point("a", [0., 1.], "x")])
        .await
        .unwrap();
    let hits = idx
        .search("c", &[0., 1.], 5, &Filter::default())
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let only_y = Filter {
        department_id: Some("y".into()),
        ..Default::default()
    };
    assert_eq!(
        idx.search("c", &[0., 1.], 5, &only_y).await.unwrap()[0].id,
        "b"
    );
    drop(idx);
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.count("c").await.unwrap(), 2);
    assert_eq!(
        idx.search("c", &[0., 1.], 1, &Filter::default())
            .await
            .unwrap()[0]
            .id,
        "a"
    );
}

#[tokio::test]
async fn torn_tail_is_dropped_middle_damage_clears_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    idx.ensure_collection("c", 2).await.unwrap();
    idx.replace_all("c", vec![point("a", [1., 0.], "x")], "v1")
        .await
        .unwrap();
    idx.upsert("c", vec![point("b", [0., 1.], "x")])
        .await
        .unwrap();
    drop(idx);
    let log = dir.path().join("c.log");
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..bytes.len() - 3]).unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.count("c").await.unwrap(), 1, "intact points stay");
    assert_eq!(idx.tag("c").await.unwrap(), None, "owner must rebuild");
    // The log was rewritten: appending now and reopening loses nothing.
    idx.upsert("c", vec![point("d", [0., 1.], "x")])
        .await
        .unwrap();
    drop(idx);
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.count("c").await.unwrap(), 2);
    drop(idx);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.count("c").await.unwrap(), 0);
    assert_eq!(idx.tag("c").await.unwrap(), None);
}

/// Regression: a damaged length field mid-log looked like a torn final record and the
/// collection kept its tag, so a partial catalogue was never rebuilt.
#[tokio::test]
async fn damaged_length_field_mid_log_clears_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    idx.ensure_collection("c", 2).await.unwrap();
    let points = vec![point("a", [1., 0.], "x"), point("b", [0., 1.], "x")];
    idx.replace_all("c", points, "v1").await.unwrap();
    drop(idx);
    let log = dir.path().join("c.log");
    let mut bytes = std::fs::read(&log).unwrap();
    // Header (12 bytes), then the tag record: length 4, op 1, "v1" 2, CRC 4 = 11 bytes;
    // the first point's record starts at 23; its length field's high byte is at 26.
    bytes[26] = 0x7f;
    std::fs::write(&log, &bytes).unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.tag("c").await.unwrap(), None);
}

#[tokio::test]
async fn wrong_dimension_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    idx.ensure_collection("c", 2).await.unwrap();
    let mut p = point("a", [1., 0.], "x");
    p.vector.push(0.);
    assert!(matches!(
        idx.upsert("c", vec![p]).await,
        Err(IndexError::Dimension { .. })
    ));
    assert!(matches!(
        idx.count("nope").await,
        Err(IndexError::NoCollection(_))
    ));
}

#[tokio::test]
async fn log_is_compacted_when_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    idx.ensure_collection("c", 2).await.unwrap();
    for i in 0..200 {
        idx.upsert("c", vec![point("a", [i as f32, 1.], "x")])
            .await
            .unwrap();
    }
    let size = std::fs::metadata(dir.path().join("c.log")).unwrap().len();
    assert!(size < 100 * 120, "log not compacted: {size} bytes");
    drop(idx);
    let idx = EmbeddedIndex::open(dir.path()).unwrap();
    assert_eq!(idx.count("c").await.unwrap(), 1);
}
