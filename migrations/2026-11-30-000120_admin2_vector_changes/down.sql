DROP TRIGGER vector_changes_deleted;
DROP TRIGGER vector_changes_updated;
DROP TRIGGER vector_changes_inserted;
DROP TABLE vector_changes;
