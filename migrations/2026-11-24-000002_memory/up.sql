-- Long-term memories. `key` is the usearch key; `embedding` (f32 little-endian) makes the database the source of
-- truth for the vector index, which is rebuilt from it whenever it is missing, stale or corrupt.
CREATE TABLE memories (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    importance DOUBLE NOT NULL,
    base_importance DOUBLE NOT NULL,
    emotional_valence DOUBLE NOT NULL DEFAULT 0,
    related_personas TEXT NOT NULL DEFAULT '[]',
    visibility TEXT NOT NULL DEFAULT 'private',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    accessed_count BIGINT NOT NULL DEFAULT 0,
    last_accessed TEXT,
    embedding BLOB,
    embedder TEXT
);
CREATE INDEX memories_persona ON memories (persona_id, importance);
CREATE INDEX memories_unembedded ON memories (persona_id) WHERE embedding IS NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (content, content = 'memories', content_rowid = 'key');
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content) VALUES (new.key, new.content);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.key, old.content);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.key, old.content);
    INSERT INTO memories_fts (rowid, content) VALUES (new.key, new.content);
END;

-- One row per pruning run, for memory.prune_stats.
CREATE TABLE prune_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    persona_id TEXT NOT NULL,
    ran_at TEXT NOT NULL,
    memories_before BIGINT NOT NULL,
    memories_after BIGINT NOT NULL,
    average_importance_pruned DOUBLE NOT NULL,
    processing_time DOUBLE NOT NULL
);
