//! `make bench`: search latency of the embedded vector index (`src/index/embedded/`) at
//! 10k, 100k and 1M random unit vectors of 384 dimensions (the encoder's), top 10, no
//! filter, one query at a time. Prints numbers only.

use std::time::{Duration, Instant};

use anliegen::index::{EmbeddedIndex, Filter, Payload, Point, VectorIndex};

const DIMENSION: usize = 384;
const QUERIES: usize = 200;
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// xorshift64*: deterministic vectors without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn unit(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIMENSION).map(|_| self.next()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!(
        "embedded index: exact search, {DIMENSION} dimensions, top 10, {QUERIES} single queries per size"
    );
    println!("| vectors | load | p50 | p99 |");
    println!("|---|---|---|---|");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for size in SIZES {
        let dir = tempfile::tempdir().expect("temporary directory");
        let index = EmbeddedIndex::open(dir.path()).expect("index");
        index
            .ensure_collection("bench", DIMENSION)
            .await
            .expect("collection");
        let points: Vec<Point> = (0..size)
            .map(|i| Point {
                id: format!("p{i}"),
                vector: rng.unit(),
                payload: Payload {
                    service_id: format!("s{}", i % 200),
                    department_id: format!("d{}", i % 20),
                    kind: "case".into(),
                    text: String::new(),
                    status: None,
                },
            })
            .collect();
        let started = Instant::now();
        index
            .replace_all("bench", points, "bench")
            .await
            .expect("loads");
        let load = started.elapsed();
        let queries: Vec<Vec<f32>> = (0..QUERIES).map(|_| rng.unit()).collect();
        let filter = Filter::default();
        index
            .search("bench", &queries[0], 10, &filter)
            .await
            .expect("searches");
        let mut samples = Vec::with_capacity(QUERIES);
        for q in &queries {
            let started = Instant::now();
            let hits = index
                .search("bench", q, 10, &filter)
                .await
                .expect("searches");
            samples.push(started.elapsed());
            assert_eq!(hits.len(), 10);
        }
        samples.sort();
        println!(
            "| {size} | {:.1} s | {:.2} ms | {:.2} ms |",
            load.as_secs_f64(),
            percentile(&samples, 50.0),
            percentile(&samples, 99.0)
        );
    }
}
