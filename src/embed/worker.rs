//! The model runs on its own OS thread, fed by a bounded queue; async callers await a
//! oneshot reply. Requests that arrive while a forward pass runs are coalesced into the next
//! batch. A full queue is refused at once (`Overloaded`) instead of growing without bound.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{EmbedError, Encoder, ModelInfo};

/// Most texts taken into one coalesced batch; the encoder splits it by its token budget.
const MAX_COALESCED_TEXTS: usize = 256;

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>;

enum Job {
    Embed {
        texts: Vec<String>,
        reply: Reply,
    },
    Tokens {
        text: String,
        reply: oneshot::Sender<Result<Vec<u32>, EmbedError>>,
    },
}

/// Cheap to clone; every clone feeds the same model thread.
#[derive(Clone)]
pub struct Embedder {
    queue: mpsc::Sender<Job>,
    info: Arc<ModelInfo>,
}

impl Embedder {
    pub fn spawn(encoder: Box<dyn Encoder>, capacity: usize) -> Self {
        let info = Arc::new(encoder.info());
        let (queue, rx) = mpsc::channel(capacity.max(1));
        std::thread::Builder::new()
            .name("anliegen-model".into())
            .spawn(move || run(encoder, rx))
            .expect("spawning the model thread");
        Self { queue, info }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Embed { texts, reply })?;
        rx.await.map_err(|_| EmbedError::Stopped)?
    }

    pub async fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed(vec![text.to_string()]).await?.remove(0))
    }

    pub async fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Tokens {
            text: text.to_string(),
            reply,
        })?;
        rx.await.map_err(|_| EmbedError::Stopped)?
    }

    fn submit(&self, job: Job) -> Result<(), EmbedError> {
        // Counted before it is sent, so the model thread never takes it off first.
        metrics::gauge!(QUEUE_DEPTH).increment(1.0);
        self.queue.try_send(job).map_err(|e| {
            metrics::gauge!(QUEUE_DEPTH).decrement(1.0);
            match e {
                mpsc::error::TrySendError::Full(_) => EmbedError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => EmbedError::Stopped,
            }
        })
    }
}

/// Requests waiting for the model thread (`/metrics`).
const QUEUE_DEPTH: &str = "anliegen_embedding_queue_depth";

fn run(mut encoder: Box<dyn Encoder>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        metrics::gauge!(QUEUE_DEPTH).decrement(1.0);
        let mut batch: Vec<(Vec<String>, Reply)> = Vec::new();
        let mut pending = Some(first);
        let mut texts = 0;
        while let Some(job) = pending.take() {
            match job {
                Job::Embed { texts: t, reply } => {
                    texts += t.len();
                    batch.push((t, reply));
                }
                Job::Tokens { text, reply } => {
                    let _ = reply.send(encoder.token_ids(&text));
                }
            }
            if texts < MAX_COALESCED_TEXTS {
                pending = rx.try_recv().ok();
                if pending.is_some() {
                    metrics::gauge!(QUEUE_DEPTH).decrement(1.0);
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let all: Vec<String> = batch.iter().flat_map(|(t, _)| t.iter().cloned()).collect();
        let started = std::time::Instant::now();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encoder.encode(&all)))
                .unwrap_or_else(|_| Err(EmbedError::Inference("the model panicked".into())));
        metrics::histogram!("anliegen_embedding_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("anliegen_embedding_batch_texts").record(all.len() as f64);
        match result {
            Ok(mut vectors) => {
                metrics::counter!("anliegen_embeddings_total").increment(all.len() as u64);
                for (texts, reply) in batch.into_iter().rev() {
                    let own = vectors.split_off(vectors.len() - texts.len());
                    let _ = reply.send(Ok(own));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, texts = all.len(), "embedding batch failed");
                for (_, reply) in batch {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic stand-in for unit tests of the logic around the model: a normalised
    /// bag of character trigrams hashed into `dim` buckets.
    pub(crate) struct HashEncoder {
        pub dim: usize,
        pub calls: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Encoder for HashEncoder {
        fn encode(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if texts.iter().any(|t| t == "PANIC") {
                panic!("forced");
            }
            Ok(texts.iter().map(|t| hash_vector(t, self.dim)).collect())
        }
        fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
            Ok(text.bytes().map(u32::from).collect())
        }
        fn info(&self) -> ModelInfo {
            ModelInfo {
                id: "hash".into(),
                format: "test".into(),
                architecture: "hash".into(),
                dir: String::new(),
                dimension: self.dim,
                layers: 0,
                hidden: self.dim,
                vocab: 0,
                max_tokens: 512,
                query_prefix: String::new(),
            }
        }
    }

    pub(crate) fn hash_vector(text: &str, dim: usize) -> Vec<f32> {
        let chars: Vec<char> = text.to_lowercase().chars().collect();
        let mut v = vec![0f32; dim];
        for w in chars.windows(3) {
            let h = w.iter().fold(1469598103u64, |h, &c| {
                (h ^ c as u64).wrapping_mul(1099511628211)
            });
            v[(h % dim as u64) as usize] += 1.0;
        }
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter().map(|x| x / n).collect()
    }

    pub(crate) fn hash_embedder() -> Embedder {
        Embedder::spawn(
            Box::new(HashEncoder {
                dim: 64,
                calls: Default::default(),
            }),
            16,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_get_their_own_vectors() {
        let e = hash_embedder();
        let texts = ["Laterne kaputt", "Sperrmüll abholen", "Kita Platz"];
        let tasks: Vec<_> = texts
            .iter()
            .map(|t| {
                let e = e.clone();
                let batch = vec![t.to_string(), format!("{t}!")];
                tokio::spawn(async move { e.embed(batch).await })
            })
            .collect();
        for (t, task) in texts.iter().zip(tasks) {
            let r = task.await.unwrap().unwrap();
            assert_eq!(r[0], hash_vector(t, 64));
            assert_eq!(r[1], hash_vector(&format!("{t}!"), 64));
        }
    }

    #[tokio::test]
    async fn a_panicking_model_fails_the_batch_and_keeps_serving() {
        let e = hash_embedder();
        assert!(matches!(
            e.embed(vec!["PANIC".into()]).await,
            Err(EmbedError::Inference(_))
        ));
        assert_eq!(e.embed_one("abc").await.unwrap(), hash_vector("abc", 64));
    }

    #[test]
    fn a_full_queue_is_refused_not_grown() {
        let (queue, _rx) = mpsc::channel(1);
        let e = Embedder {
            queue,
            info: Arc::new(
                HashEncoder {
                    dim: 4,
                    calls: Default::default(),
                }
                .info(),
            ),
        };
        let (r1, _k1) = oneshot::channel();
        let (r2, _k2) = oneshot::channel();
        e.submit(Job::Embed {
            texts: vec!["a".into()],
            reply: r1,
        })
        .unwrap();
        let err = e
            .submit(Job::Embed {
                texts: vec!["b".into()],
                reply: r2,
            })
            .unwrap_err();
        assert_eq!(err, EmbedError::Overloaded);
    }
}
