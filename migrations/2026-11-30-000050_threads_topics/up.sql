-- Topic threads of a chat conversation: each message joins the thread it is closest to (issue 17).
CREATE TABLE chat_threads (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    -- {"word": count} of the thread's user messages, as JSON.
    keywords TEXT NOT NULL DEFAULT '{}',
    -- Moving mean of the thread's recent user-message vectors (little-endian f32), NULL without an embedder.
    centroid BLOB,
    message_count BIGINT NOT NULL DEFAULT 0,
    summary TEXT,
    summarized_through BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_active TEXT NOT NULL
);
CREATE INDEX chat_threads_conversation ON chat_threads (conversation_id, last_active);

ALTER TABLE chat_messages ADD COLUMN thread_id TEXT;
CREATE INDEX chat_messages_thread ON chat_messages (conversation_id, thread_id, seq);
