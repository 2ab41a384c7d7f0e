//! Reader for the E5S1 container (quantised multilingual-e5-small): header, tensor
//! directory, Q4_0 dequantisation, and the mapping of its tensor names onto the Hugging Face
//! BERT names that candle-transformers' `BertModel` loads.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use half::f16;

const MAGIC: &[u8; 4] = b"E5S1";
const Q4_BLOCK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;

/// Hyper-parameters stored in the container header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    dtype: DType,
    elements: usize,
    offset: usize,
    length: usize,
}

/// A parsed container: header plus dequantised f32 tensors under Hugging Face names.
pub struct Container {
    pub header: Header,
    pub tensors: HashMap<String, Tensor>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {} (needed {n} more)", self.pos))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| format!("negative {what} ({v})"))
    }
}

/// Parses the container and dequantises every tensor. Errors describe what is wrong with
/// the bytes; the caller adds the file name and the fix.
pub fn parse(bytes: &[u8], device: &Device) -> Result<Container, String> {
    let mut c = Cursor { bytes, pos: 0 };
    if c.take(4)? != MAGIC {
        return Err("not an E5S1 container (bad magic)".into());
    }
    let version = c.u32()?;
    if version != 1 {
        return Err(format!("unsupported E5S1 version {version}"));
    }
    let mut dims = [0usize; 7];
    for (d, name) in dims.iter_mut().zip([
        "hidden",
        "layers",
        "heads",
        "ffn",
        "vocab",
        "max_positions",
        "type_vocab",
    ]) {
        *d = c.count(name)?;
    }
    let [hidden, layers, heads, ffn, vocab, max_positions, type_vocab] = dims;
    let layer_norm_eps = c.f32()?;
    let block = c.count("block size")?;
    if block != Q4_BLOCK {
        return Err(format!(
            "quantisation block size {block}, expected {Q4_BLOCK}"
        ));
    }
    if hidden == 0 || heads == 0 || !hidden.is_multiple_of(heads) || layers == 0 || layers > 256 {
        return Err(format!(
            "implausible shape: hidden {hidden}, heads {heads}, layers {layers}"
        ));
    }
    skip_vocabulary(&mut c)?;
    let entries = read_directory(&mut c, bytes.len())?;

    let header = Header {
        version,
        hidden,
        layers,
        heads,
        ffn,
        vocab,
        max_positions,
        type_vocab,
        layer_norm_eps,
    };
    let mut tensors = HashMap::new();
    for entry in &entries {
        let Some((hf_name, shape)) = hf_name(&entry.name, &header) else {
            return Err(format!("unknown tensor '{}'", entry.name));
        };
        let expected: usize = shape.iter().product();
        if entry.elements != expected {
            return Err(format!(
                "tensor '{}' has {} elements, expected {expected}",
                entry.name, entry.elements
            ));
        }
        let raw = &bytes[entry.offset..entry.offset + entry.length];
        let values = match entry.dtype {
            DType::F32 => decode_f32(raw, entry.elements),
            DType::Q4_0 => dequantize_q4_0(raw, entry.elements),
        }
        .map_err(|e| format!("tensor '{}': {e}", entry.name))?;
        let t = Tensor::from_vec(values, shape, device).map_err(|e| e.to_string())?;
        tensors.insert(hf_name, t);
    }
    let expected_count = 5 + 16 * layers;
    if tensors.len() != expected_count {
        return Err(format!(
            "{} tensors, expected {expected_count}",
            tensors.len()
        ));
    }
    Ok(Container { header, tensors })
}

/// The embedded SentencePiece vocabulary is replaced by `tokenizer.json`; only its length
/// matters here.
fn skip_vocabulary(c: &mut Cursor) -> Result<(), String> {
    let pieces = c.count("vocabulary size")?;
    c.take(16)?; // four special-token ids
    let blob = usize::try_from(c.u64()?).map_err(|_| "vocabulary blob too large")?;
    let offsets = pieces
        .checked_add(1)
        .and_then(|n| n.checked_mul(4))
        .ok_or("vocabulary size overflows")?;
    c.take(offsets)?;
    c.take(pieces.checked_mul(4).ok_or("vocabulary size overflows")?)?;
    c.take(blob)?;
    c.i32()?;
    let normaliser = c.u32()? as usize;
    c.take(normaliser)?;
    Ok(())
}

fn read_directory(c: &mut Cursor, file_len: usize) -> Result<Vec<Entry>, String> {
    let count = c.count("tensor count")?;
    if count > 10_000 {
        return Err(format!("implausible tensor count {count}"));
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let len = c.u16()? as usize;
        let name =
            String::from_utf8(c.take(len)?.to_vec()).map_err(|_| "tensor name is not UTF-8")?;
        let dtype = match c.u8()? {
            0 => DType::F32,
            1 => DType::Q4_0,
            other => return Err(format!("tensor '{name}': unknown dtype {other}")),
        };
        let elements = c.u32()? as usize;
        let offset = usize::try_from(c.u64()?).map_err(|_| "offset too large")?;
        let length = usize::try_from(c.u64()?).map_err(|_| "length too large")?;
        if offset.checked_add(length).is_none_or(|end| end > file_len) {
            return Err(format!(
                "tensor '{name}' lies outside the file (truncated download?)"
            ));
        }
        entries.push(Entry {
            name,
            dtype,
            elements,
            offset,
            length,
        });
    }
    Ok(entries)
}

fn decode_f32(raw: &[u8], elements: usize) -> Result<Vec<f32>, String> {
    if raw.len() != elements * 4 {
        return Err(format!("{} bytes for {elements} f32 values", raw.len()));
    }
    Ok(raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect())
}

/// Q4_0: per 32 weights an f16 scale `d` and 16 bytes; byte j holds weight j in its low
/// nibble and weight j+16 in its high nibble; value = (nibble − 8) · d.
pub fn dequantize_q4_0(raw: &[u8], elements: usize) -> Result<Vec<f32>, String> {
    if !elements.is_multiple_of(Q4_BLOCK) || raw.len() != elements / Q4_BLOCK * Q4_BLOCK_BYTES {
        return Err(format!("{} bytes for {elements} Q4_0 values", raw.len()));
    }
    let mut out = vec![0f32; elements];
    for (block, dst) in raw
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_BLOCK))
    {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, &q) in block[2..].iter().enumerate() {
            dst[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            dst[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
    Ok(out)
}

/// Maps an E5S1 tensor name to its Hugging Face BERT name and shape.
fn hf_name(name: &str, h: &Header) -> Option<(String, Vec<usize>)> {
    let ln = |prefix: &str, part: &str| {
        let suffix = match part {
            "w" => "weight",
            "b" => "bias",
            _ => return None,
        };
        Some((format!("{prefix}.LayerNorm.{suffix}"), vec![h.hidden]))
    };
    match name {
        "emb.word" => {
            return Some((
                "embeddings.word_embeddings.weight".into(),
                vec![h.vocab, h.hidden],
            ));
        }
        "emb.pos" => {
            return Some((
                "embeddings.position_embeddings.weight".into(),
                vec![h.max_positions, h.hidden],
            ));
        }
        "emb.type" => {
            return Some((
                "embeddings.token_type_embeddings.weight".into(),
                vec![h.type_vocab, h.hidden],
            ));
        }
        "emb.ln.w" => return ln("embeddings", "w"),
        "emb.ln.b" => return ln("embeddings", "b"),
        _ => {}
    }
    let rest = name.strip_prefix('l')?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok().filter(|&l| l < h.layers)?;
    let (module, part) = rest.split_once('.')?;
    let p = format!("encoder.layer.{layer}");
    let (path, out, inp) = match module {
        "q" => (format!("{p}.attention.self.query"), h.hidden, h.hidden),
        "k" => (format!("{p}.attention.self.key"), h.hidden, h.hidden),
        "v" => (format!("{p}.attention.self.value"), h.hidden, h.hidden),
        "ao" => (format!("{p}.attention.output.dense"), h.hidden, h.hidden),
        "fi" => (format!("{p}.intermediate.dense"), h.ffn, h.hidden),
        "fo" => (format!("{p}.output.dense"), h.hidden, h.ffn),
        "aln" => return ln(&format!("{p}.attention.output"), part),
        "oln" => return ln(&format!("{p}.output"), part),
        _ => return None,
    };
    match part {
        "w" => Some((format!("{path}.weight"), vec![out, inp])),
        "b" => Some((format!("{path}.bias"), vec![out])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q4_block(d: f32, nibbles: [u8; 32]) -> Vec<u8> {
        let mut b = f16::from_f32(d).to_le_bytes().to_vec();
        for j in 0..16 {
            b.push(nibbles[j] | (nibbles[j + 16] << 4));
        }
        b
    }

    #[test]
    fn dequantises_low_then_high_nibbles() {
        let mut n = [8u8; 32];
        n[0] = 9; // +1
        n[16] = 0; // -8
        n[31] = 15; // +7
        let v = dequantize_q4_0(&q4_block(0.5, n), 32).unwrap();
        assert_eq!(v[0], 0.5);
        assert_eq!(v[16], -4.0);
        assert_eq!(v[31], 3.5);
        assert_eq!(v[1], 0.0);
    }

    #[test]
    fn rejects_wrong_q4_length() {
        assert!(dequantize_q4_0(&[0u8; 17], 32).is_err());
        assert!(dequantize_q4_0(&[0u8; 18], 31).is_err());
    }

    /// Builds a complete one-layer container so the whole parser is exercised without the
    /// real weights.
    fn tiny_container() -> Vec<u8> {
        let (hidden, ffn, vocab, pos, types) = (32usize, 64usize, 8usize, 4usize, 2usize);
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [hidden, 1, 2, ffn, vocab, pos, types] {
            b.extend_from_slice(&(v as i32).to_le_bytes());
        }
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        b.extend_from_slice(&32i32.to_le_bytes());
        // vocabulary: 1 piece "a"
        b.extend_from_slice(&1i32.to_le_bytes());
        b.extend_from_slice(&[0u8; 16]);
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&0f32.to_le_bytes());
        b.push(b'a');
        b.extend_from_slice(&0i32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        let mut tensors: Vec<(String, u8, usize)> = vec![
            ("emb.word".into(), 1, vocab * hidden),
            ("emb.pos".into(), 0, pos * hidden),
            ("emb.type".into(), 0, types * hidden),
            ("emb.ln.w".into(), 0, hidden),
            ("emb.ln.b".into(), 0, hidden),
        ];
        for m in ["q", "k", "v", "ao"] {
            tensors.push((format!("l0.{m}.w"), 1, hidden * hidden));
            tensors.push((format!("l0.{m}.b"), 0, hidden));
        }
        tensors.push(("l0.fi.w".into(), 1, ffn * hidden));
        tensors.push(("l0.fi.b".into(), 0, ffn));
        tensors.push(("l0.fo.w".into(), 1, hidden * ffn));
        tensors.push(("l0.fo.b".into(), 0, hidden));
        for m in ["aln", "oln"] {
            tensors.push((format!("l0.{m}.w"), 0, hidden));
            tensors.push((format!("l0.{m}.b"), 0, hidden));
        }
        let dir_len: usize = 4 + tensors
            .iter()
            .map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let mut offset = b.len() + dir_len;
        let mut data = Vec::new();
        b.extend_from_slice(&(tensors.len() as i32).to_le_bytes());
        for (name, dtype, n) in &tensors {
            let bytes = if *dtype == 1 {
                (0..n / 32)
                    .flat_map(|_| q4_block(0.25, [9; 32]))
                    .collect::<Vec<u8>>()
            } else {
                (0..*n).flat_map(|_| 1.0f32.to_le_bytes()).collect()
            };
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(name.as_bytes());
            b.push(*dtype);
            b.extend_from_slice(&(*n as u32).to_le_bytes());
            b.extend_from_slice(&(offset as u64).to_le_bytes());
            b.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            offset += bytes.len();
            data.extend(bytes);
        }
        b.extend(data);
        b
    }

    #[test]
    fn parses_a_complete_container_into_hf_names() {
        let c = parse(&tiny_container(), &Device::Cpu).unwrap();
        assert_eq!(c.header.hidden, 32);
        assert_eq!(c.tensors.len(), 21);
        let w = &c.tensors["encoder.layer.0.intermediate.dense.weight"];
        assert_eq!(w.dims(), &[64, 32]);
        let first: Vec<f32> = w.flatten_all().unwrap().to_vec1().unwrap();
        assert!(first.iter().all(|&x| x == 0.25));
        assert!(
            c.tensors
                .contains_key("encoder.layer.0.attention.output.LayerNorm.bias")
        );
    }

    #[test]
    fn truncated_or_foreign_files_give_a_reason() {
        let full = tiny_container();
        let err = parse(&full[..full.len() - 10], &Device::Cpu).err().unwrap();
        assert!(err.contains("outside the file"), "{err}");
        assert!(
            parse(b"GGUF....", &Device::Cpu)
                .err()
                .unwrap()
                .contains("bad magic")
        );
        assert!(
            parse(&full[..30], &Device::Cpu)
                .err()
                .unwrap()
                .contains("truncated")
        );
    }
}
