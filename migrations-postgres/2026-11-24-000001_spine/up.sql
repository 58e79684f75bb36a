-- PostgreSQL twin of migrations/2026-11-24-000001_spine: the same tables and column types diesel's schema
-- (src/storage/sql/schema.rs) describes. Text columns compare byte-wise (COLLATE "C"), as in SQLite: ids and
-- RFC 3339 timestamps order the same on both backends.
CREATE TABLE personas (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    personality_traits TEXT NOT NULL DEFAULT '{}',
    topic_preferences TEXT NOT NULL DEFAULT '{}',
    charisma INTEGER NOT NULL DEFAULT 10,
    intelligence INTEGER NOT NULL DEFAULT 10,
    social_rank TEXT NOT NULL DEFAULT 'commoner',
    model TEXT,
    system_prompt TEXT,
    avatar_url TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX personas_name_nocase ON personas (lower(name));

CREATE TABLE interaction_states (
    persona_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    interest_level DOUBLE PRECISION NOT NULL,
    interaction_fatigue DOUBLE PRECISION NOT NULL,
    current_priority TEXT NOT NULL,
    available_time DOUBLE PRECISION NOT NULL,
    social_energy DOUBLE PRECISION NOT NULL,
    base_energy DOUBLE PRECISION NOT NULL,
    base_available_time DOUBLE PRECISION NOT NULL,
    cooldown_until DOUBLE PRECISION NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE chat_conversations (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    persona_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    channel TEXT COLLATE "C" NOT NULL DEFAULT '',
    summary TEXT,
    summarized_through BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (session_id, persona_id, channel)
);
CREATE INDEX chat_conversations_persona ON chat_conversations (persona_id);

CREATE TABLE chat_messages (
    seq BIGSERIAL PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    sender TEXT,
    room_id TEXT,
    partial BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX chat_messages_conversation ON chat_messages (conversation_id, seq);
