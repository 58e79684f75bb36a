-- PostgreSQL twin of migrations/2026-11-30-000050_threads_topics.
CREATE TABLE chat_threads (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    keywords TEXT NOT NULL DEFAULT '{}',
    centroid BYTEA,
    message_count BIGINT NOT NULL DEFAULT 0,
    summary TEXT,
    summarized_through BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    last_active TEXT COLLATE "C" NOT NULL
);
CREATE INDEX chat_threads_conversation ON chat_threads (conversation_id, last_active);

ALTER TABLE chat_messages ADD COLUMN thread_id TEXT COLLATE "C";
CREATE INDEX chat_messages_thread ON chat_messages (conversation_id, thread_id, seq);
