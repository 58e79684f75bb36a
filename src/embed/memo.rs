//! [`QueryMemo`]: an embedder that remembers its last query vectors, so the steps of one chat turn that need
//! the vector of the user's message (memory recall, topic threading) compute it once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{BoxFuture, EmbedError, Embedder};

/// How many recent query vectors are kept.
const KEPT: usize = 64;

/// Wraps an embedder; [`Embedder::embed_query`] answers a text asked for recently from memory.
pub struct QueryMemo {
    inner: Arc<dyn Embedder>,
    recent: Mutex<VecDeque<(String, Arc<Vec<f32>>)>>,
}

impl QueryMemo {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Embedder>) -> Self {
        Self {
            inner,
            recent: Mutex::new(VecDeque::with_capacity(KEPT)),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Arc<Vec<f32>>)>> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remembered vector of `text`, if it was asked for recently.
    fn remembered(&self, text: &str) -> Option<Arc<Vec<f32>>> {
        self.recent()
            .iter()
            .rev()
            .find(|(t, _)| t == text)
            .map(|(_, v)| v.clone())
    }

    fn remember(&self, text: &str, vector: Arc<Vec<f32>>) {
        let mut recent = self.recent();
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back((text.to_string(), vector));
    }
}

impl Embedder for QueryMemo {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        self.inner.embed(texts)
    }

    fn embed_query<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, EmbedError>> {
        Box::pin(async move {
            if let Some(v) = self.remembered(text) {
                return Ok(v.as_ref().clone());
            }
            let v = self.inner.embed_query(text).await?;
            self.remember(text, Arc::new(v.clone()));
            Ok(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its calls; the vector is the text's length.
    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn dimension(&self) -> usize {
            1
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(texts.iter().map(|t| vec![t.len() as f32]).collect()) })
        }
    }

    #[tokio::test]
    async fn a_repeated_query_is_embedded_once_and_old_ones_are_forgotten() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let memo = QueryMemo::new(inner.clone());
        assert_eq!(memo.embed_query("dragon").await.unwrap(), vec![6.0]);
        assert_eq!(memo.embed_query("dragon").await.unwrap(), vec![6.0]);
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        for i in 0..KEPT {
            memo.embed_query(&format!("q{i}")).await.unwrap();
        }
        memo.embed_query("dragon").await.unwrap();
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            KEPT + 2,
            "forgotten after {KEPT} others"
        );
        memo.embed(&["x".to_string()]).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), KEPT + 3, "batches are never memoised");
    }
}
