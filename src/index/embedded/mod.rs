//! The embedded vector index: collections held in memory and searched exactly (dot
//! product of normalised vectors), persisted under `data/index/` as an append-only log per
//! collection. Each record carries a CRC, so a torn write at the end after a crash is
//! dropped on load, while damage in the middle marks the collection as lost (empty, tag
//! cleared) so the caller rebuilds it from the database. Logs are compacted when they grow
//! to several times their live size.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::RwLock,
};

use super::{Filter, Hit, IndexError, Payload, Point, VectorIndex};
use log::{COMPACT_FACTOR, MAGIC, OP_DELETE, OP_TAG, load_log, record, upsert_record};

mod log;
#[cfg(test)]
mod tests;

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

/// Dot product in eight independent lanes, which the compiler turns into SIMD (a single
/// running sum must be added in order and stays scalar).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a_blocks, b_blocks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
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
            .map(|(i, v)| (dot(v, vector), i))
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
