//! The on-disk form of one collection: a header (magic, dimension) and records of
//! `length · op · body · CRC32`; encoding the records and replaying a log.

use std::{fs::File, io::Read, path::Path};

use super::{Collection, IndexError, Point};

pub(super) const MAGIC: &[u8; 8] = b"ANLIDX01";
pub(super) const OP_UPSERT: u8 = 1;
pub(super) const OP_DELETE: u8 = 2;
pub(super) const OP_TAG: u8 = 3;
pub(super) const COMPACT_FACTOR: usize = 4;

pub(super) fn record(op: u8, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(body.len() + 9);
    r.extend_from_slice(&(body.len() as u32 + 1).to_le_bytes());
    r.push(op);
    r.extend_from_slice(body);
    r.extend_from_slice(&crc32fast::hash(&r[4..]).to_le_bytes());
    r
}

pub(super) fn upsert_record(p: &Point) -> Vec<u8> {
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
pub(super) fn load_log(path: &Path) -> Result<Collection, IndexError> {
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
