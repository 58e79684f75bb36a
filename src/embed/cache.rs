//! The vectors of recent search queries, kept so that a text is not embedded twice: the steps of one chat turn
//! that need the vector of the user's message (memory recall, topic threading) compute it once — a step that
//! asks while another's computation is under way waits for that one instead of starting its own —, a recall
//! whose vector came too late for its own turn leaves it here for the threading step and for a repeat of the
//! message, a `memory.search` for the same words reuses the chat's, and a memory stored with the text of a
//! recent query (an exchange remembered verbatim) takes the query's vector instead of a forward pass. Wraps any
//! [`Embedder`]; the name and vectors stay the inner one's.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
    /// Queries being computed by the inner embedder (queued or running).
    in_flight: AtomicUsize,
    /// A moving average of how long one query takes when none is ahead of it, in microseconds (0: none yet).
    typical_micros: AtomicU64,
}

/// A query vector asked for by a deadline ([`embed_query_by`]).
#[derive(Debug)]
pub enum Timely {
    /// In time.
    Ready(Vec<f32>),
    /// Still being computed at the deadline: the computation goes on and its vector lands in the cache of recent
    /// queries, for the same turn's later steps and for a repeat of the words.
    Late,
    /// Not started: the queries queued ahead of it would have made it miss the deadline anyway (load shedding).
    Shed,
    /// The embedder failed (logged).
    Failed,
}

/// The vector of `text` if it comes by `by`. The embedding runs as a task of its own, so a late one still
/// finishes (and is kept by [`CachedEmbedder`]); one that could not come in time is not started at all.
pub async fn embed_query_by(embedder: &Arc<dyn Embedder>, text: &str, by: Instant) -> Timely {
    if embedder.would_miss(text, by.saturating_duration_since(Instant::now())) {
        return Timely::Shed;
    }
    let (embedder, owned) = (embedder.clone(), text.to_string());
    let pending = tokio::spawn(async move { embedder.embed_query(&owned).await });
    match tokio::time::timeout_at(by.into(), pending).await {
        Ok(Ok(Ok(vector))) => Timely::Ready(vector),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "embedding a query failed; using keywords");
            Timely::Failed
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "a query embedding task failed; using keywords");
            Timely::Failed
        }
        Err(_) => Timely::Late,
    }
}

/// Starts computing `text`'s query vector now, for a step that asks for it within `within` and then joins this
/// computation ([`embed_query_by`]): a chat message is embedded while the request is routed to its conversation.
/// Not started when it would be late anyway, or when the text is too long to be kept.
pub fn embed_query_ahead(embedder: &Arc<dyn Embedder>, text: &str, within: Duration) {
    if text.len() > MAX_TEXT_BYTES || embedder.would_miss(text, within) {
        return;
    }
    let (embedder, owned) = (embedder.clone(), text.to_string());
    // A failure leaves the slot empty: the step that asks computes it again and reports the error.
    tokio::spawn(async move { embedder.embed_query(&owned).await.ok() });
}

/// Counts one query computation for as long as it lives (also when its future is dropped).
struct Computing<'a>(&'a AtomicUsize);

impl<'a> Computing<'a> {
    /// Counts one more; answers the guard and how many were counted before it.
    fn start(count: &'a AtomicUsize) -> (Self, usize) {
        let ahead = count.fetch_add(1, Ordering::SeqCst);
        (Self(count), ahead)
    }
}

impl Drop for Computing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl CachedEmbedder {
    /// Wraps `inner`, keeping the vectors of its last `capacity` distinct queries.
    pub fn new(inner: Arc<dyn Embedder>, capacity: NonZeroUsize) -> Self {
        Self {
            inner,
            recent: Mutex::new(LruCache::new(capacity)),
            in_flight: AtomicUsize::new(0),
            typical_micros: AtomicU64::new(0),
        }
    }

    /// Computes `text`'s query vector with the inner embedder, counted in flight; a computation with none ahead
    /// of it updates the typical duration (an eighth of the new one each time).
    async fn compute(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let (_counted, ahead) = Computing::start(&self.in_flight);
        let started = Instant::now();
        let vector = self.inner.embed_query(text).await?;
        if ahead == 0 {
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let old = self.typical_micros.load(Ordering::Relaxed);
            let new = if old == 0 { took } else { old - old / 8 + took / 8 };
            self.typical_micros.store(new.max(1), Ordering::Relaxed);
        }
        Ok(vector)
    }

    fn recent(&self) -> MutexGuard<'_, LruCache<String, Slot>> {
        crate::locks::lock(&self.recent)
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

    fn precision(&self) -> Option<crate::config::EmbedderPrecision> {
        self.inner.precision()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.embed_known(texts, false)
    }

    fn embed_background<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.embed_known(texts, true)
    }

    fn would_miss(&self, text: &str, within: Duration) -> bool {
        if self.recent().peek(text).is_some() {
            // Known, or being computed: waiting for it adds no work.
            return false;
        }
        let ahead = self.in_flight.load(Ordering::SeqCst);
        let typical = Duration::from_micros(self.typical_micros.load(Ordering::Relaxed));
        // With none ahead it is always started (a late vector still serves the turn's later steps); with some,
        // only when they and it (one at a time, as the built-in model's query thread runs them) fit.
        ahead > 0 && typical.saturating_mul(u32::try_from(ahead + 1).unwrap_or(u32::MAX)) > within
    }

    fn embed_query<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, EmbedError>> {
        Box::pin(async move {
            if text.len() > MAX_TEXT_BYTES {
                return self.compute(text).await;
            }
            // A failed (or abandoned) computation leaves the slot empty: the next caller computes it anew.
            let slot = self.slot(text);
            slot.get_or_try_init(|| self.compute(text)).await.cloned()
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

    /// Takes its time (`delay`), and fails its first `failures` calls.
    struct Slow {
        calls: AtomicUsize,
        failures: usize,
        delay: Duration,
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
                tokio::time::sleep(self.delay).await;
                if call < self.failures {
                    return Err(EmbedError::Inference("not yet".to_string()));
                }
                Ok(texts.iter().map(|t| Counting::vector(t)).collect())
            })
        }
    }

    fn slow(failures: usize) -> (Arc<Slow>, CachedEmbedder) {
        slow_by(failures, Duration::from_millis(20))
    }

    /// A [`Slow`] taking `delay` per call, cached.
    fn slow_by(failures: usize, delay: Duration) -> (Arc<Slow>, CachedEmbedder) {
        let inner = Arc::new(Slow {
            calls: AtomicUsize::new(0),
            failures,
            delay,
        });
        let capacity = NonZeroUsize::new(4).expect("not zero");
        (inner.clone(), CachedEmbedder::new(inner, capacity))
    }

    #[tokio::test]
    async fn a_query_that_would_queue_past_its_deadline_is_not_started() {
        // Long computations: the one in flight still runs when the checks below run, even on a loaded machine.
        let (inner, cache) = slow_by(0, Duration::from_millis(200));
        let cache: Arc<dyn Embedder> = Arc::new(cache);
        assert!(!cache.would_miss("first", Duration::ZERO), "none ahead: always started");
        cache.embed_query("first").await.expect("embedded");
        let busy = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.embed_query("second").await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            cache.would_miss("third", Duration::from_millis(10)),
            "one of ~20 ms ahead, and its own"
        );
        assert!(!cache.would_miss("third", Duration::from_secs(5)));
        assert!(
            !cache.would_miss("second", Duration::ZERO),
            "joining the one in flight costs nothing"
        );
        let shed = embed_query_by(&cache, "third", Instant::now() + Duration::from_millis(10)).await;
        assert!(matches!(shed, Timely::Shed), "{shed:?}");
        busy.await.expect("joined").expect("embedded");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2, "third was never computed");

        // Idle again: a query that cannot make its deadline is started anyway, and its vector kept.
        let late = embed_query_by(&cache, "fourth", Instant::now()).await;
        assert!(matches!(late, Timely::Late), "{late:?}");
        let kept = embed_query_by(&cache, "fourth", Instant::now() + Duration::from_secs(5)).await;
        assert!(
            matches!(kept, Timely::Ready(ref v) if *v == Counting::vector("fourth")),
            "{kept:?}"
        );
        assert_eq!(
            inner.calls.load(Ordering::SeqCst),
            3,
            "the late computation served the second ask"
        );
    }

    #[tokio::test]
    async fn a_query_started_ahead_is_joined_by_the_step_that_asks() {
        let (inner, cache) = slow_by(0, Duration::from_millis(200));
        let cache: Arc<dyn Embedder> = Arc::new(cache);
        embed_query_ahead(&cache, "dragon", Duration::from_millis(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1, "started before anyone asked");
        let got = embed_query_by(&cache, "dragon", Instant::now() + Duration::from_secs(5)).await;
        assert!(
            matches!(got, Timely::Ready(ref v) if *v == Counting::vector("dragon")),
            "{got:?}"
        );
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1, "one computation");
        // While one is computed, another that would be late is not started ahead either.
        embed_query_ahead(&cache, "knight", Duration::from_millis(5));
        tokio::time::sleep(Duration::from_millis(5)).await;
        embed_query_ahead(&cache, "castle", Duration::from_millis(5));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2, "castle was shed");
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
