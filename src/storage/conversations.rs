//! Chat conversation repository: one conversation per (session, persona, channel), its messages and summary.

use uuid::Uuid;

use super::sql::notify::{self, Topic};
use super::sql::{conversations, threads, Db};
use super::StorageError;
use crate::domain::chat::{ChatConversation, ChatMessage};
use crate::domain::thread::Thread;

/// The most threads a conversation actor keeps to choose from (the most recently active).
pub const LIVE_THREADS: usize = 64;

/// A conversation as a conversation actor starts from it.
pub struct LoadedConversation {
    /// The stored conversation, or a new one not stored yet (it is stored with its first messages).
    pub conversation: ChatConversation,
    /// Its newest messages, oldest first.
    pub history: Vec<ChatMessage>,
    /// How many messages it holds.
    pub message_count: i64,
    /// Its most recently active topic threads, most recent first.
    pub threads: Vec<Thread>,
}

/// Chat conversations; reached through [`super::Store::conversations`].
pub struct Conversations<'a> {
    db: &'a Db,
}

impl<'a> Conversations<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// The conversation for this key, if it is stored.
    pub async fn find(
        &self,
        session_id: &str,
        persona: Uuid,
        channel: &str,
    ) -> Result<Option<ChatConversation>, StorageError> {
        let (session, channel) = (session_id.to_string(), channel.to_string());
        self.db
            .run(move |c| conversations::find(c, &session, persona, &channel))
            .await
    }

    /// Every chat conversation (of one persona, or all), most recently active first.
    pub async fn list(&self, persona: Option<Uuid>) -> Result<Vec<ChatConversation>, StorageError> {
        self.db.run(move |c| conversations::list(c, persona)).await
    }

    /// One chat conversation by id.
    pub async fn get(&self, id: Uuid) -> Result<Option<ChatConversation>, StorageError> {
        self.db.run(move |c| conversations::get(c, id)).await
    }

    /// The conversation for this key with its newest `window` messages; a new one when none is stored.
    pub async fn load(
        &self,
        session_id: &str,
        persona: Uuid,
        channel: &str,
        window: usize,
    ) -> Result<LoadedConversation, StorageError> {
        let (session, channel) = (session_id.to_string(), channel.to_string());
        self.db
            .run(move |c| match conversations::find(c, &session, persona, &channel)? {
                Some(conversation) => Ok(LoadedConversation {
                    history: conversations::recent(c, conversation.id, window)?,
                    message_count: conversations::message_count(c, conversation.id)?,
                    threads: threads::of_conversation(c, conversation.id, LIVE_THREADS)?,
                    conversation,
                }),
                None => Ok(LoadedConversation {
                    conversation: ChatConversation::new(&session, persona, &channel),
                    history: Vec::new(),
                    message_count: 0,
                    threads: Vec::new(),
                }),
            })
            .await
    }

    /// Appends messages in one transaction (storing the conversation first if it is new, and the thread they
    /// joined); answers the stored conversation id and the messages' sequence numbers.
    pub async fn append(
        &self,
        conversation: ChatConversation,
        messages: Vec<ChatMessage>,
        thread: Option<Thread>,
    ) -> Result<(Uuid, Vec<i64>), StorageError> {
        let (persona, origin) = (conversation.persona_id, self.db.instance());
        self.db
            .write(move |c| {
                let appended = conversations::append(c, &conversation, &messages, thread.as_ref())?;
                // Stored either way: an instance that misses this reads the messages when it next loads them.
                if let Err(e) = notify::announce(c, origin, Topic::Conversation, appended.0) {
                    tracing::warn!(error = %e, "announcing new messages to other instances failed");
                }
                Ok(appended)
            })
            .await
            .map_err(|e| e.about(persona))
    }

    /// Messages after `after_seq` up to and including `through_seq`, oldest first (the part to summarise).
    pub async fn range(
        &self,
        conversation: Uuid,
        after_seq: i64,
        through_seq: i64,
    ) -> Result<Vec<ChatMessage>, StorageError> {
        self.db
            .run(move |c| conversations::range(c, conversation, after_seq, through_seq))
            .await
    }

    /// Stores a new running summary covering messages up to `through_seq`.
    pub async fn set_summary(&self, conversation: Uuid, summary: String, through_seq: i64) -> Result<(), StorageError> {
        self.db
            .write(move |c| conversations::set_summary(c, conversation, &summary, through_seq))
            .await
    }
}
