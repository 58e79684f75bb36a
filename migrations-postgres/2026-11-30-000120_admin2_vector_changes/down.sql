DROP TRIGGER vector_changes_log ON memories;
DROP FUNCTION vector_changes_log();
DROP TABLE vector_changes;
