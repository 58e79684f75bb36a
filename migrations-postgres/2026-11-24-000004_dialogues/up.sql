-- PostgreSQL twin of migrations/2026-11-24-000004_dialogues.
CREATE TABLE dialogues (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    persona1_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    persona2_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    token_budget BIGINT NOT NULL,
    tokens_used BIGINT NOT NULL DEFAULT 0,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    end_reason TEXT
);
CREATE INDEX dialogues_persona1 ON dialogues (persona1_id);
CREATE INDEX dialogues_persona2 ON dialogues (persona2_id);

CREATE TABLE dialogue_turns (
    seq BIGSERIAL PRIMARY KEY,
    dialogue_id TEXT COLLATE "C" NOT NULL REFERENCES dialogues (id) ON DELETE CASCADE,
    speaker_id TEXT COLLATE "C" NOT NULL,
    content TEXT NOT NULL,
    continue_score DOUBLE PRECISION NOT NULL,
    tokens_used BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX dialogue_turns_dialogue ON dialogue_turns (dialogue_id, seq);
