//! The threading step of a chat turn: the message joins its topic thread (or starts one), and the history the
//! model gets is that thread's messages first, then the most recent others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use crate::domain::chat::ChatMessage;
use crate::domain::thread::{self, Thread, ThreadRules};
use crate::embed::cache::{embed_query_by, Timely};
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
    /// The vector missed `vector_by` (late, or not started because the queries queued ahead would have been
    /// late too): keywords chose the thread.
    pub by_keywords: bool,
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
        let timely = match self.embedder {
            Some(e) => Some(embed_query_by(e, message, self.vector_by).await),
            None => None,
        };
        let vector_late = matches!(timely, Some(Timely::Late));
        let by_keywords = vector_late || matches!(timely, Some(Timely::Shed));
        let vector = match timely {
            Some(Timely::Ready(v)) => Some(v),
            _ => None,
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
            by_keywords,
        })
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
