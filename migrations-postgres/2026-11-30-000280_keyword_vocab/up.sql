-- The SQLite twin adds an FTS5 vocabulary table for keyword search plans; PostgreSQL ranks its tsvector matches
-- without one. Kept so both backends have the same migrations.
SELECT 1;
