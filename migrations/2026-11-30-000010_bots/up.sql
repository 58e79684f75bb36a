-- Matrix bots: one row per bot of a persona. `password` and `access_token` are write-only secrets (never returned by
-- any API); `since` is the last /sync token the bot has taken in, so a restarted bot answers nothing twice.
CREATE TABLE bots (
    id TEXT PRIMARY KEY NOT NULL,
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    homeserver TEXT NOT NULL,
    user_id TEXT NOT NULL UNIQUE,
    password TEXT,
    access_token TEXT,
    rooms TEXT NOT NULL DEFAULT '[]',
    invite_allowlist TEXT NOT NULL DEFAULT '[]',
    reply_mode TEXT NOT NULL DEFAULT 'mention',
    enabled BOOLEAN NOT NULL DEFAULT 1,
    since TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX bots_persona ON bots (persona_id);
