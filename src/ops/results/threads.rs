//! The result of the threads operation: what `conversation.threads` answers.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::thread::Thread;

/// Keywords shown per thread.
const SHOWN_KEYWORDS: usize = 8;

/// One topic thread of a chat conversation.
#[derive(Serialize, JsonSchema)]
pub struct ThreadView {
    /// The thread (the `thread_id` of the turn results).
    pub thread_id: Uuid,
    /// Its chat conversation.
    pub conversation_id: Uuid,
    /// The persona spoken to.
    pub persona_id: Uuid,
    /// A short label: its title from the title model when one is configured, else its top keywords.
    pub label: String,
    /// Its most frequent keywords, most frequent first.
    pub keywords: Vec<String>,
    /// Messages in it (user messages and replies).
    pub message_count: i64,
    /// Summary of its messages older than the history window, if any.
    pub summary: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When a message last joined it.
    pub last_active: DateTime<Utc>,
}

impl ThreadView {
    /// The view of `t`, a thread of a conversation with `persona`.
    pub fn of(t: Thread, persona: Uuid) -> Self {
        Self {
            thread_id: t.id,
            conversation_id: t.conversation_id,
            persona_id: persona,
            keywords: t.top_keywords(SHOWN_KEYWORDS),
            label: t.label,
            message_count: t.message_count,
            summary: t.summary,
            created_at: t.created_at,
            last_active: t.last_active,
        }
    }
}

/// `conversation.threads`.
#[derive(Serialize, JsonSchema)]
pub struct ThreadList {
    /// The session whose conversations they are.
    pub session_id: String,
    /// The threads, most recently active first.
    pub threads: Vec<ThreadView>,
    /// How many.
    pub count: usize,
}
