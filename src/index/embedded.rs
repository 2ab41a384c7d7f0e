//! The embedded vector index: collections held in memory and searched exactly (dot
//! product of normalised vectors), persisted under `data/index/` as an append-only log per
//! collection. Each record carries a CRC, so a torn write at the end after a crash is
//! dropped on load, while damage in the middle marks the collection as lost (empty, tag
//! cleared) so the caller rebuilds it from the database. Logs are compacted when they grow
//! to several times their live size.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
    sync::RwLock,
};

use super::{Filter, Hit, IndexError, Payload, Point, VectorIndex};

const MAGIC: &[u8; 8] = b"ANLIDX01";
const OP_UPSERT: u8 = 1;
const OP_DELETE: u8 = 2;
const OP_TAG: u8 = 3;
const COMPACT_FACTOR: usize = 4;

#[derive(Default)]
struct Collection {
    dimension: usize,
    tag: Option<String>,
    ids: Vec<String>,
    vectors: Vec<f32>,
    payloads: Vec<Payload>,
    position: HashMap<String, usize>,
    /// Records in the log file, to decide when to compact.
    log_records: usize,
    /// The log ended in a damaged record and must be written afresh before appending.
    damaged: bool,
}

impl Collection {
    fn upsert(&mut self, p: Point) {
        match self.position.get(&p.id) {
            Some(&i) => {
                self.vectors[i * self.dimension..(i + 1) * self.dimension]
                    .copy_from_slice(&p.vector);
                self.payloads[i] = p.payload;
            }
            None => {
                self.position.insert(p.id.clone(), self.ids.len());
                self.ids.push(p.id);
                self.vectors.extend_from_slice(&p.vector);
                self.payloads.push(p.payload);
            }
        }
    }

    fn delete(&mut self, id: &str) {
        let Some(i) = self.position.remove(id) else {
            return;
        };
        let last = self.ids.len() - 1;
        self.ids.swap_remove(i);
        self.payloads.swap_remove(i);
        let d = self.dimension;
        if i != last {
            self.vectors.copy_within(last * d..(last + 1) * d, i * d);
            self.position.insert(self.ids[i].clone(), i);
        }
        self.vectors.truncate(last * d);
    }

    fn point(&self, i: usize) -> Point {
        Point {
            id: self.ids[i].clone(),
            vector: self.vectors[i * self.dimension..(i + 1) * self.dimension].to_vec(),
            payload: self.payloads[i].clone(),
        }
    }
}

pub struct EmbeddedIndex {
    dir: PathBuf,
    collections: RwLock<HashMap<String, Collection>>,
}

impl EmbeddedIndex {
    /// Opens (or creates) the index directory and loads every collection log in it.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let mut collections = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "log")
                && let Some(name) = path.file_stem().and_then(|s| s.to_str())
            {
                collections.insert(name.to_string(), load_log(&path)?);
            }
        }
        let index = Self {
            dir: dir.to_path_buf(),
            collections: RwLock::new(collections),
        };
        // A log that ended in a damaged record (marked by `load_log`) is written afresh, so
        // new records are not appended behind the garbage.
        for (name, c) in index.collections.write().expect("index lock").iter_mut() {
            if c.damaged {
                index.rewrite(name, c)?;
                c.damaged = false;
            }
        }
        Ok(index)
    }

    fn log_path(&self, collection: &str) -> PathBuf {
        self.dir.join(format!("{collection}.log"))
    }

    fn append(&self, collection: &str, records: &[Vec<u8>]) -> Result<(), IndexError> {
        let mut f = BufWriter::new(
            OpenOptions::new()
                .append(true)
                .open(self.log_path(collection))?,
        );
        for r in records {
            f.write_all(r)?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_data()?;
        Ok(())
    }

    /// Writes the whole collection to a fresh log and renames it over the old one.
    fn rewrite(&self, collection: &str, c: &mut Collection) -> Result<(), IndexError> {
        let path = self.log_path(collection);
        let tmp = path.with_extension("log.tmp");
        let mut f = BufWriter::new(File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&(c.dimension as u32).to_le_bytes())?;
        let mut records = 0;
        if let Some(tag) = &c.tag {
            f.write_all(&record(OP_TAG, tag.as_bytes()))?;
            records += 1;
        }
        for i in 0..c.ids.len() {
            f.write_all(&upsert_record(&c.point(i)))?;
            records += 1;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        c.log_records = records;
        Ok(())
    }

    fn with_collection<T>(
        &self,
        collection: &str,
        f: impl FnOnce(&mut Collection) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut all = self.collections.write().expect("index lock");
        let c = all
            .get_mut(collection)
            .ok_or_else(|| IndexError::NoCollection(collection.to_string()))?;
        let out = f(c)?;
        if c.log_records > COMPACT_FACTOR * (c.ids.len() + 16) {
            self.rewrite(collection, c)?;
        }
        Ok(out)
    }

    fn check_dimension(collection: &str, c: &Collection, v: &[f32]) -> Result<(), IndexError> {
        if v.len() == c.dimension {
            Ok(())
        } else {
            Err(IndexError::Dimension {
                collection: collection.to_string(),
                got: v.len(),
                want: c.dimension,
            })
        }
    }
}

fn record(op: u8, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(body.len() + 9);
    r.extend_from_slice(&(body.len() as u32 + 1).to_le_bytes());
    r.push(op);
    r.extend_from_slice(body);
    r.extend_from_slice(&crc32fast::hash(&r[4..]).to_le_bytes());
    r
}

fn upsert_record(p: &Point) -> Vec<u8> {
    let payload = serde_json::to_vec(&p.payload).expect("payload serialises");
    let mut body = Vec::with_capacity(8 + p.id.len() + payload.len() + p.vector.len() * 4);
    body.extend_from_slice(&(p.id.len() as u32).to_le_bytes());
    body.extend_from_slice(p.id.as_bytes());
    body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    body.extend_from_slice(&payload);
    for x in &p.vector {
        body.extend_from_slice(&x.to_le_bytes());
    }
    record(OP_UPSERT, &body)
}

fn split_len_prefixed(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    Some((b.get(4..4 + n)?, b.get(4 + n..)?))
}

fn decode_upsert(body: &[u8], dimension: usize) -> Option<Point> {
    let (id, rest) = split_len_prefixed(body)?;
    let (payload, vector) = split_len_prefixed(rest)?;
    if vector.len() != dimension * 4 {
        return None;
    }
    Some(Point {
        id: String::from_utf8(id.to_vec()).ok()?,
        payload: serde_json::from_slice(payload).ok()?,
        vector: vector
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
    })
}

/// Replays a log. A damaged record at the very end is a torn write and is dropped; damage
/// before the end means the file cannot be trusted and the collection comes back empty
/// without a tag, so its owner rebuilds it.
fn load_log(path: &Path) -> Result<Collection, IndexError> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        tracing::warn!(file = %path.display(), "vector index file damaged; it will be rebuilt");
        return Ok(Collection::default());
    }
    let dimension = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut c = Collection {
        dimension,
        ..Default::default()
    };
    let mut pos = 12;
    while pos < bytes.len() {
        let parsed = (|| {
            let len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
            let end = pos.checked_add(4 + len + 4)?;
            let content = bytes.get(pos + 4..pos + 4 + len)?;
            let crc = u32::from_le_bytes(bytes.get(pos + 4 + len..end)?.try_into().ok()?);
            (crc32fast::hash(content) == crc && !content.is_empty()).then_some((content, end))
        })();
        let Some((content, end)) = parsed else {
            let torn_tail = bytes.len() - pos < 4 || {
                let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
                pos + 8 + len >= bytes.len()
            };
            if torn_tail {
                // A write cut short by a crash and a damaged length field in the middle look
                // the same from here. Keep the intact points but drop the tag, so the
                // owner rebuilds the collection rather than trusting a partial one.
                tracing::warn!(file = %path.display(), "vector index log ends in a damaged record; it will be rebuilt");
                c.tag = None;
                c.damaged = true;
                break;
            }
            tracing::warn!(file = %path.display(), "vector index log damaged; it will be rebuilt");
            return Ok(Collection {
                dimension,
                ..Default::default()
            });
        };
        let (op, body) = (content[0], &content[1..]);
        match op {
            OP_UPSERT => match decode_upsert(body, dimension) {
                Some(p) => c.upsert(p),
                None => {
                    return Ok(Collection {
                        dimension,
                        ..Default::default()
                    });
                }
            },
            OP_DELETE => c.delete(&String::from_utf8_lossy(body)),
            OP_TAG => c.tag = Some(String::from_utf8_lossy(body).into_owned()),
            _ => {}
        }
        c.log_records += 1;
        pos = end;
    }
    Ok(c)
}

#[async_trait::async_trait]
impl VectorIndex for EmbeddedIndex {
    async fn ensure_collection(
        &self,
        collection: &str,
        dimension: usize,
    ) -> Result<(), IndexError> {
        let mut all = self.collections.write().expect("index lock");
        let needs_new = match all.get(collection) {
            None => true,
            // A damaged file comes back with no points and no tag; a dimension change means
            // another model: both start over.
            Some(c) => c.dimension != dimension,
        };
        if needs_new {
            let mut c = Collection {
                dimension,
                ..Default::default()
            };
            self.rewrite(collection, &mut c)?;
            all.insert(collection.to_string(), c);
        }
        Ok(())
    }

    async fn upsert(&self, collection: &str, points: Vec<Point>) -> Result<(), IndexError> {
        self.with_collection(collection, |c| {
            for p in &points {
                Self::check_dimension(collection, c, &p.vector)?;
            }
            let records: Vec<Vec<u8>> = points.iter().map(upsert_record).collect();
            self.append(collection, &records)?;
            c.log_records += records.len();
            points.into_iter().for_each(|p| c.upsert(p));
            Ok(())
        })
    }

    async fn delete(&self, collection: &str, ids: &[String]) -> Result<(), IndexError> {
        self.with_collection(collection, |c| {
            let records: Vec<Vec<u8>> = ids
                .iter()
                .map(|id| record(OP_DELETE, id.as_bytes()))
                .collect();
            self.append(collection, &records)?;
            c.log_records += records.len();
            ids.iter().for_each(|id| c.delete(id));
            Ok(())
        })
    }

    async fn replace_all(
        &self,
        collection: &str,
        points: Vec<Point>,
        tag: &str,
    ) -> Result<(), IndexError> {
        let mut all = self.collections.write().expect("index lock");
        let c = all
            .get_mut(collection)
            .ok_or_else(|| IndexError::NoCollection(collection.to_string()))?;
        let mut fresh = Collection {
            dimension: c.dimension,
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        for p in points {
            Self::check_dimension(collection, &fresh, &p.vector)?;
            fresh.upsert(p);
        }
        self.rewrite(collection, &mut fresh)?;
        *c = fresh;
        Ok(())
    }

    async fn tag(&self, collection: &str) -> Result<Option<String>, IndexError> {
        let all = self.collections.read().expect("index lock");
        Ok(all.get(collection).and_then(|c| c.tag.clone()))
    }

    async fn count(&self, collection: &str) -> Result<usize, IndexError> {
        let all = self.collections.read().expect("index lock");
        all.get(collection)
            .map(|c| c.ids.len())
            .ok_or_else(|| IndexError::NoCollection(collection.to_string()))
    }

    async fn search(
        &self,
        collection: &str,
        vector: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, IndexError> {
        let all = self.collections.read().expect("index lock");
        let c = all
            .get(collection)
            .ok_or_else(|| IndexError::NoCollection(collection.to_string()))?;
        Self::check_dimension(collection, c, vector)?;
        let mut scored: Vec<(f32, usize)> = c
            .vectors
            .chunks_exact(c.dimension.max(1))
            .enumerate()
            .filter(|(i, _)| filter.matches(&c.payloads[*i]))
            .map(|(i, v)| (v.iter().zip(vector).map(|(a, b)| a * b).sum(), i))
            .collect();
        let limit = limit.min(scored.len());
        if limit == 0 {
            return Ok(Vec::new());
        }
        scored.select_nth_unstable_by(limit - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(limit);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored
            .into_iter()
            .map(|(score, i)| Hit {
                id: c.ids[i].clone(),
                score,
                payload: c.payloads[i].clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
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
}
