-- Personas, their interaction state, and one-to-one chat conversations with their messages.
CREATE TABLE personas (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
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
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX personas_name_nocase ON personas (name COLLATE NOCASE);

CREATE TABLE interaction_states (
    persona_id TEXT PRIMARY KEY NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    interest_level DOUBLE NOT NULL,
    interaction_fatigue DOUBLE NOT NULL,
    current_priority TEXT NOT NULL,
    available_time DOUBLE NOT NULL,
    social_energy DOUBLE NOT NULL,
    base_energy DOUBLE NOT NULL,
    base_available_time DOUBLE NOT NULL,
    cooldown_until DOUBLE NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE chat_conversations (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL,
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    channel TEXT NOT NULL DEFAULT '',
    summary TEXT,
    summarized_through BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (session_id, persona_id, channel)
);
CREATE INDEX chat_conversations_persona ON chat_conversations (persona_id);

CREATE TABLE chat_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    sender TEXT,
    room_id TEXT,
    partial BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX chat_messages_conversation ON chat_messages (conversation_id, seq);
