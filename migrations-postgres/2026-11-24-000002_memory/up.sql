-- PostgreSQL twin of migrations/2026-11-24-000002_memory. Keyword search uses the generated `search` tsvector
-- (GIN indexed, the 'simple' configuration: no stemming, like FTS5's default tokenizer) where SQLite has FTS5.
-- `embedding` holds the f32 little-endian vector, the source of truth each instance's usearch index is rebuilt
-- from.
CREATE TABLE memories (
    key BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    persona_id TEXT COLLATE "C" NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    importance DOUBLE PRECISION NOT NULL,
    base_importance DOUBLE PRECISION NOT NULL,
    emotional_valence DOUBLE PRECISION NOT NULL DEFAULT 0,
    related_personas TEXT NOT NULL DEFAULT '[]',
    visibility TEXT NOT NULL DEFAULT 'private',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT COLLATE "C" NOT NULL,
    accessed_count BIGINT NOT NULL DEFAULT 0,
    last_accessed TEXT COLLATE "C",
    embedding BYTEA,
    embedder TEXT,
    search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED
);
CREATE INDEX memories_persona ON memories (persona_id, importance);
CREATE INDEX memories_unembedded ON memories (persona_id) WHERE embedding IS NULL;
CREATE INDEX memories_search ON memories USING GIN (search);

CREATE TABLE prune_runs (
    id BIGSERIAL PRIMARY KEY,
    persona_id TEXT COLLATE "C" NOT NULL,
    ran_at TEXT COLLATE "C" NOT NULL,
    memories_before BIGINT NOT NULL,
    memories_after BIGINT NOT NULL,
    average_importance_pruned DOUBLE PRECISION NOT NULL,
    processing_time DOUBLE PRECISION NOT NULL
);
