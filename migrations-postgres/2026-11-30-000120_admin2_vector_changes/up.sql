-- PostgreSQL twin of migrations/2026-11-30-000120_admin2_vector_changes: the log of vector changes that
-- instances sharing the database read to keep their own usearch indexes in step (one trigger function).
-- `change`: 0 a vector was added, 1 removed, 2 replaced.
CREATE TABLE vector_changes (
    seq BIGSERIAL PRIMARY KEY,
    memory_key BIGINT NOT NULL,
    persona_id TEXT NOT NULL,
    change BIGINT NOT NULL,
    at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now())::BIGINT)
);
CREATE FUNCTION vector_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.embedding IS NOT NULL THEN
            INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (OLD.key, OLD.persona_id, 1);
        END IF;
        RETURN OLD;
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.embedding IS NOT NULL THEN
            INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (NEW.key, NEW.persona_id, 0);
        END IF;
    ELSIF NEW.embedding IS DISTINCT FROM OLD.embedding THEN
        INSERT INTO vector_changes (memory_key, persona_id, change) VALUES (NEW.key, NEW.persona_id,
            CASE WHEN NEW.embedding IS NULL THEN 1 WHEN OLD.embedding IS NULL THEN 0 ELSE 2 END);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER vector_changes_log AFTER INSERT OR UPDATE OF embedding OR DELETE ON memories
    FOR EACH ROW EXECUTE FUNCTION vector_changes_log();
