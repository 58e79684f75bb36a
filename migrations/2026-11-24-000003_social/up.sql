-- Relationships between personas (one row per unordered pair), their interaction history, and each persona's
-- emotional state.
CREATE TABLE relationships (
    persona1_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    persona2_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    affinity DOUBLE NOT NULL DEFAULT 0,
    trust DOUBLE NOT NULL DEFAULT 0,
    respect DOUBLE NOT NULL DEFAULT 0,
    intimacy DOUBLE NOT NULL DEFAULT 0,
    relationship_type TEXT NOT NULL DEFAULT 'stranger',
    interaction_count BIGINT NOT NULL DEFAULT 0,
    total_interaction_time DOUBLE NOT NULL DEFAULT 0,
    first_meeting TEXT,
    last_interaction TEXT,
    recent_interaction_quality DOUBLE,
    PRIMARY KEY (persona1_id, persona2_id),
    -- The pair is stored once: the smaller UUID (as lower-case text, which orders like the UUID) first.
    CHECK (persona1_id < persona2_id)
);
CREATE INDEX relationships_persona2 ON relationships (persona2_id);

CREATE TABLE interactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    persona1_id TEXT NOT NULL,
    persona2_id TEXT NOT NULL,
    quality DOUBLE NOT NULL,
    duration_minutes DOUBLE NOT NULL,
    context TEXT NOT NULL,
    memorable BOOLEAN NOT NULL DEFAULT 0,
    at TEXT NOT NULL,
    FOREIGN KEY (persona1_id, persona2_id) REFERENCES relationships (persona1_id, persona2_id) ON DELETE CASCADE
);
CREATE INDEX interactions_pair ON interactions (persona1_id, persona2_id, seq);

CREATE TABLE emotional_states (
    persona_id TEXT PRIMARY KEY NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    mood DOUBLE NOT NULL,
    energy_level DOUBLE NOT NULL,
    stress_level DOUBLE NOT NULL,
    curiosity DOUBLE NOT NULL,
    social_battery DOUBLE NOT NULL,
    last_updated TEXT NOT NULL,
    -- Writes carry the actor's version so that a late write never overwrites a newer one.
    version BIGINT NOT NULL DEFAULT 0
);
