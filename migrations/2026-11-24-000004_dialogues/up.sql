-- Persona-to-persona conversations and their turns.
CREATE TABLE dialogues (
    id TEXT PRIMARY KEY NOT NULL,
    persona1_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    persona2_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    token_budget BIGINT NOT NULL,
    tokens_used BIGINT NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE INDEX dialogues_persona1 ON dialogues (persona1_id);
CREATE INDEX dialogues_persona2 ON dialogues (persona2_id);

CREATE TABLE dialogue_turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dialogue_id TEXT NOT NULL REFERENCES dialogues (id) ON DELETE CASCADE,
    speaker_id TEXT NOT NULL,
    content TEXT NOT NULL,
    continue_score DOUBLE NOT NULL,
    tokens_used BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX dialogue_turns_dialogue ON dialogue_turns (dialogue_id, seq);
