//! The threading step of a chat turn: the message joins its topic thread (or starts one), and the history the
//! model gets is that thread's messages first, then the most recent others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use crate::domain::chat::ChatMessage;
use crate::domain::thread::{self, Thread, ThreadRules};
use crate::embed::Embedder;
use crate::error::AppError;
use crate::storage::Store;

/// Where a message went.
pub struct Placed {
    /// Its thread, with the message taken in (not stored yet: it is stored with the message).
    pub thread: Thread,
    /// The history for the prompt, oldest first.
    pub history: Vec<ChatMessage>,
    /// How long the step waited for the message's vector.
    pub vector_wait: Duration,
    /// The vector missed `vector_by`: the thread was chosen by keywords, and its centroid takes the vector when
    /// it comes ([`Thread::mix_vector`], before the thread is stored with the turn).
    pub vector_late: bool,
}

/// What the step works from.
pub struct Placement<'a> {
    /// Storage (a thread's older messages).
    pub store: &'a Store,
    /// The embedder whose query vector the memory recall computed for the same message (remembered by
    /// [`crate::embed::cache::CachedEmbedder`]); `None`: keywords only.
    pub embedder: Option<&'a Arc<dyn Embedder>>,
    /// When the step stops waiting for the message's vector (`chat.thread_vector_wait_ms` after the turn
    /// began) and sorts by keywords.
    pub vector_by: Instant,
    /// The sorting rules.
    pub rules: ThreadRules,
    /// The history budget, in messages.
    pub window: usize,
    /// The conversation's id, and whether it is stored yet.
    pub conversation: (Uuid, bool),
    /// Its live threads, most recent first.
    pub threads: &'a [Thread],
    /// The thread it is in.
    pub current: Option<Uuid>,
    /// Its recent window, oldest first.
    pub recent: &'a [ChatMessage],
}

impl Placement<'_> {
    /// Sorts `message` into a thread and gathers the history.
    pub async fn place(&self, message: &str) -> Result<Placed, AppError> {
        let waiting = Instant::now();
        let (vector, vector_late) = match self.embedder {
            Some(e) => self.vector_in_time(e, message).await,
            None => (None, false),
        };
        let vector_wait = waiting.elapsed();
        let words = thread::keywords(message);
        let (conversation, stored) = self.conversation;
        let chosen = thread::choose(self.threads, self.current, vector.as_deref(), &words, &self.rules);
        let mut joined = match chosen {
            Some(i) => self.threads[i].clone(),
            None => Thread::new(conversation, Utc::now()),
        };
        let thread_messages = if chosen.is_none() || !stored {
            Vec::new()
        } else {
            self.thread_window(&joined).await?
        };
        let history = thread::history(&thread_messages, self.recent, self.window);
        joined.absorb(vector.as_deref(), &words, 2, Utc::now());
        Ok(Placed {
            thread: joined,
            history,
            vector_wait,
            vector_late,
        })
    }

    /// The message's vector if it comes by `vector_by` (and whether it was late). The embedding runs on as a task
    /// of its own, so a late vector still lands in the embedder's cache of recent queries for the turn to take.
    async fn vector_in_time(&self, embedder: &Arc<dyn Embedder>, message: &str) -> (Option<Vec<f32>>, bool) {
        let (embedder, text) = (embedder.clone(), message.to_string());
        let pending = tokio::spawn(async move { embedder.embed_query(&text).await });
        match tokio::time::timeout_at(self.vector_by.into(), pending).await {
            Ok(Ok(Ok(v))) => (Some(v), false),
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "embedding the message for threading failed; using keywords");
                (None, false)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the threading embedding task failed; using keywords");
                (None, false)
            }
            Err(_) => (None, true),
        }
    }

    /// The newest messages of `t` (at most the window): from the recent window when they are all in it, else
    /// from storage.
    async fn thread_window(&self, t: &Thread) -> Result<Vec<ChatMessage>, AppError> {
        let in_window: Vec<ChatMessage> = self
            .recent
            .iter()
            .filter(|m| m.thread_id == Some(t.id))
            .cloned()
            .collect();
        let wanted = usize::try_from(t.message_count).unwrap_or(usize::MAX).min(self.window);
        if in_window.len() >= wanted {
            return Ok(in_window);
        }
        Ok(self
            .store
            .threads()
            .recent(self.conversation.0, t.id, self.window)
            .await?)
    }
}
