-- The log of vector changes, for processes that share the database (`serve --role mcp` and `--role admin`): each
-- keeps its own usearch index and applies the changes the other made (`MemoryService::start_sync`), reading only
-- the rows after the last one it saw. Filled by triggers, so no writer can forget it; rows older than a few
-- minutes are pruned (a process that fell further behind rebuilds its indexes from the stored vectors).
-- `change`: 0 a vector was added, 1 removed (row deleted, or its vector cleared for re-embedding), 2 replaced.
CREATE TABLE vector_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_key INTEGER NOT NULL,
    persona_id TEXT NOT NULL,
    change INTEGER NOT NULL,
    at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE TRIGGER vector_changes_inserted AFTER INSERT ON memories WHEN new.embedding IS NOT NULL BEGIN
    INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (new.key, new.persona_id, 0);
END;
CREATE TRIGGER vector_changes_updated AFTER UPDATE OF embedding ON memories
    WHEN new.embedding IS NOT old.embedding BEGIN
    INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (new.key, new.persona_id,
        CASE WHEN new.embedding IS NULL THEN 1 WHEN old.embedding IS NULL THEN 0 ELSE 2 END);
END;
CREATE TRIGGER vector_changes_deleted AFTER DELETE ON memories WHEN old.embedding IS NOT NULL BEGIN
    INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (old.key, old.persona_id, 1);
END;
