-- PostgreSQL twin of migrations/2026-11-30-000010_bots.
CREATE TABLE bots (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    persona_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    homeserver TEXT NOT NULL,
    user_id TEXT NOT NULL UNIQUE,
    password TEXT,
    access_token TEXT,
    rooms TEXT NOT NULL DEFAULT '[]',
    invite_allowlist TEXT NOT NULL DEFAULT '[]',
    reply_mode TEXT NOT NULL DEFAULT 'mention',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    since TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX bots_persona ON bots (persona_id);
