//! The vectors of recent search queries, kept so that a text is not embedded twice: the steps of one chat turn
//! that need the vector of the user's message (memory recall, topic threading) compute it once — a step that
//! asks while another's computation is under way waits for that one instead of starting its own —, a recall
//! whose vector came too late for its own turn leaves it here for the threading step and for a repeat of the
//! message, a `memory.search` for the same words reuses the chat's, and a memory stored with the text of a
//! recent query (an exchange remembered verbatim) takes the query's vector instead of a forward pass. Wraps any
//! [`Embedder`]; the name and vectors stay the inner one's.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;
use tokio::sync::OnceCell;

use super::{BoxFuture, EmbedError, Embedder};

/// Texts longer than this are not kept (a query is a chat message, not a document).
const MAX_TEXT_BYTES: usize = 2048;

/// A query's vector: computed once, by whichever caller asked first, while later callers wait for it.
type Slot = Arc<OnceCell<Vec<f32>>>;

/// An [`Embedder`] that remembers the vectors of its last queries.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    recent: Mutex<LruCache<String, Slot>>,
}

impl CachedEmbedder {
    /// Wraps `inner`, keeping the vectors of its last `capacity` distinct queries.
    pub fn new(inner: Arc<dyn Embedder>, capacity: NonZeroUsize) -> Self {
        Self {
            inner,
            recent: Mutex::new(LruCache::new(capacity)),
        }
    }

    fn recent(&self) -> MutexGuard<'_, LruCache<String, Slot>> {
        // The cache holds no invariant a panic could break: a poisoned lock is still usable.
        self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The vector of `text` if it is known already (not one still being computed).
    fn lookup(&self, text: &str) -> Option<Vec<f32>> {
        self.recent().get(text).and_then(|slot| slot.get().cloned())
    }

    /// The slot of `text`, made (empty) when there is none.
    fn slot(&self, text: &str) -> Slot {
        self.recent()
            .get_or_insert(text.to_string(), || Arc::new(OnceCell::new()))
            .clone()
    }
}

impl Embedder for CachedEmbedder {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.embed_known(texts, false)
    }

    fn embed_background<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.embed_known(texts, true)
    }

    fn embed_query<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, EmbedError>> {
        Box::pin(async move {
            if text.len() > MAX_TEXT_BYTES {
                return self.inner.embed_query(text).await;
            }
            // A failed (or abandoned) computation leaves the slot empty: the next caller computes it anew.
            let slot = self.slot(text);
            slot.get_or_try_init(|| self.inner.embed_query(text)).await.cloned()
        })
    }
}

impl CachedEmbedder {
    /// The vectors of `texts`: known queries from the cache, the others from the inner embedder (in the
    /// background when `background`).
    fn embed_known<'a>(
        &'a self,
        texts: &'a [String],
        background: bool,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let mut vectors: Vec<Option<Vec<f32>>> = texts.iter().map(|text| self.lookup(text)).collect();
            let missing: Vec<String> = texts
                .iter()
                .zip(&vectors)
                .filter(|(_, known)| known.is_none())
                .map(|(text, _)| text.clone())
                .collect();
            let mut computed = if missing.is_empty() {
                Vec::new()
            } else if background {
                self.inner.embed_background(&missing).await?
            } else {
                self.inner.embed(&missing).await?
            }
            .into_iter();
            for slot in vectors.iter_mut().filter(|slot| slot.is_none()) {
                *slot = computed.next();
            }
            vectors
                .into_iter()
                .map(|vector| vector.ok_or_else(|| EmbedError::Inference("fewer vectors than texts".to_string())))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the texts it embeds; a text's vector is its length and its first byte.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Counting {
        fn vector(text: &str) -> Vec<f32> {
            vec![text.len() as f32, f32::from(text.bytes().next().unwrap_or(0))]
        }
    }

    impl Embedder for Counting {
        fn name(&self) -> &str {
            "counting"
        }

        fn dimension(&self) -> usize {
            2
        }

        fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Box::pin(async move { Ok(texts.iter().map(|t| Self::vector(t)).collect()) })
        }
    }

    fn cached(capacity: usize) -> (Arc<Counting>, CachedEmbedder) {
        let inner = Arc::new(Counting::default());
        let capacity = NonZeroUsize::new(capacity).expect("not zero");
        (inner.clone(), CachedEmbedder::new(inner, capacity))
    }

    #[tokio::test]
    async fn a_repeated_query_is_embedded_once() {
        let (inner, cache) = cached(4);
        let first = cache.embed_query("hello there").await.expect("embedded");
        let again = cache.embed_query("hello there").await.expect("embedded");
        assert_eq!(first, again);
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        assert_eq!(cache.name(), "counting");
        assert_eq!(cache.dimension(), 2);
    }

    #[tokio::test]
    async fn a_batch_reuses_known_queries_and_keeps_its_order() {
        let (inner, cache) = cached(4);
        cache.embed_query("bb").await.expect("embedded");
        let texts: Vec<String> = ["a", "bb", "ccc", "bb"].iter().map(|s| s.to_string()).collect();
        let vectors = cache.embed(&texts).await.expect("embedded");
        let expected: Vec<Vec<f32>> = texts.iter().map(|t| Counting::vector(t)).collect();
        assert_eq!(vectors, expected);
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            1 + 2,
            "only a and ccc are embedded by the batch"
        );
        // Batch texts are not kept: they are memories, not queries.
        cache.embed_query("ccc").await.expect("embedded");
        assert_eq!(inner.0.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_oldest_query_and_long_texts_are_not_kept() {
        let (inner, cache) = cached(2);
        for text in ["one", "two", "three", "one"] {
            cache.embed_query(text).await.expect("embedded");
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 4, "one was pushed out by three");
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        cache.embed_query(&long).await.expect("embedded");
        cache.embed_query(&long).await.expect("embedded");
        assert_eq!(inner.0.load(Ordering::SeqCst), 6);
    }

    /// Takes its time, and fails its first `failures` calls.
    struct Slow {
        calls: AtomicUsize,
        failures: usize,
    }

    impl Embedder for Slow {
        fn name(&self) -> &str {
            "slow"
        }

        fn dimension(&self) -> usize {
            2
        }

        fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if call < self.failures {
                    return Err(EmbedError::Inference("not yet".to_string()));
                }
                Ok(texts.iter().map(|t| Counting::vector(t)).collect())
            })
        }
    }

    fn slow(failures: usize) -> (Arc<Slow>, CachedEmbedder) {
        let inner = Arc::new(Slow {
            calls: AtomicUsize::new(0),
            failures,
        });
        let capacity = NonZeroUsize::new(4).expect("not zero");
        (inner.clone(), CachedEmbedder::new(inner, capacity))
    }

    #[tokio::test]
    async fn a_query_asked_while_it_is_computed_waits_for_that_computation() {
        let (inner, cache) = slow(0);
        let (a, b) = tokio::join!(cache.embed_query("dragon"), cache.embed_query("dragon"));
        assert_eq!(a.expect("embedded"), Counting::vector("dragon"));
        assert_eq!(b.expect("embedded"), Counting::vector("dragon"));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_computation_is_not_kept() {
        let (inner, cache) = slow(1);
        assert!(cache.embed_query("dragon").await.is_err());
        assert_eq!(
            cache.embed_query("dragon").await.expect("embedded"),
            Counting::vector("dragon")
        );
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
        // A batch takes the kept vector of dragon and computes only wyrm.
        let texts = vec!["dragon".to_string(), "wyrm".to_string()];
        assert_eq!(cache.embed(&texts).await.expect("embedded").len(), 2);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3, "only wyrm is computed");
    }
}
