-- PostgreSQL twin of migrations/2026-11-24-000003_social.
CREATE TABLE relationships (
    persona1_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    persona2_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    affinity DOUBLE PRECISION NOT NULL DEFAULT 0,
    trust DOUBLE PRECISION NOT NULL DEFAULT 0,
    respect DOUBLE PRECISION NOT NULL DEFAULT 0,
    intimacy DOUBLE PRECISION NOT NULL DEFAULT 0,
    relationship_type TEXT NOT NULL DEFAULT 'stranger',
    interaction_count BIGINT NOT NULL DEFAULT 0,
    total_interaction_time DOUBLE PRECISION NOT NULL DEFAULT 0,
    first_meeting TEXT COLLATE "C",
    last_interaction TEXT COLLATE "C",
    recent_interaction_quality DOUBLE PRECISION,
    PRIMARY KEY (persona1_id, persona2_id),
    -- The pair is stored once: the smaller UUID (as lower-case text, byte-wise) first.
    CHECK (persona1_id < persona2_id)
);
CREATE INDEX relationships_persona2 ON relationships (persona2_id);

CREATE TABLE interactions (
    seq BIGSERIAL PRIMARY KEY,
    persona1_id TEXT COLLATE "C" NOT NULL,
    persona2_id TEXT COLLATE "C" NOT NULL,
    quality DOUBLE PRECISION NOT NULL,
    duration_minutes DOUBLE PRECISION NOT NULL,
    context TEXT NOT NULL,
    memorable BOOLEAN NOT NULL DEFAULT FALSE,
    at TEXT COLLATE "C" NOT NULL,
    FOREIGN KEY (persona1_id, persona2_id) REFERENCES relationships (persona1_id, persona2_id) ON DELETE CASCADE
);
CREATE INDEX interactions_pair ON interactions (persona1_id, persona2_id, seq);

CREATE TABLE emotional_states (
    persona_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    mood DOUBLE PRECISION NOT NULL,
    energy_level DOUBLE PRECISION NOT NULL,
    stress_level DOUBLE PRECISION NOT NULL,
    curiosity DOUBLE PRECISION NOT NULL,
    social_battery DOUBLE PRECISION NOT NULL,
    last_updated TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);
