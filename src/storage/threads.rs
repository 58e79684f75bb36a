//! Topic-thread repository: the threads of chat conversations, their messages and summaries.

use uuid::Uuid;

use super::sql::{threads, Db};
use super::StorageError;
use crate::domain::chat::ChatMessage;
use crate::domain::thread::Thread;

/// Topic threads; reached through [`super::Store::threads`].
pub struct Threads<'a> {
    db: &'a Db,
}

impl<'a> Threads<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Every thread of a session's chat conversations (with one persona, or all), most recently active first,
    /// each with the persona of its conversation.
    pub async fn of_session(
        &self,
        session_id: &str,
        persona: Option<Uuid>,
    ) -> Result<Vec<(Thread, Uuid)>, StorageError> {
        let session = session_id.to_string();
        self.db.run(move |c| threads::of_session(c, &session, persona)).await
    }

    /// The newest `limit` messages of a thread, oldest first.
    pub async fn recent(
        &self,
        conversation: Uuid,
        thread: Uuid,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        self.db
            .run(move |c| threads::recent(c, conversation, thread, limit))
            .await
    }

    /// A thread's messages after `after_seq` up to and including `through_seq`, oldest first.
    pub async fn range(
        &self,
        conversation: Uuid,
        thread: Uuid,
        after_seq: i64,
        through_seq: i64,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        self.db
            .run(move |c| threads::range(c, conversation, thread, after_seq, through_seq))
            .await
    }

    /// Names a thread with a title from the model.
    pub async fn set_title(&self, thread: Uuid, title: String) -> Result<(), StorageError> {
        self.db.write(move |c| threads::set_title(c, thread, &title)).await
    }

    /// Stores a thread's new summary covering its messages up to `through_seq`.
    pub async fn set_summary(&self, thread: Uuid, summary: String, through_seq: i64) -> Result<(), StorageError> {
        self.db
            .write(move |c| threads::set_summary(c, thread, &summary, through_seq))
            .await
    }
}
