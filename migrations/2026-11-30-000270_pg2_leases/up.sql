-- Leases of instances sharing a PostgreSQL database (one writer of a persona's background state changes, one
-- decay scheduler). Unused on SQLite, where one instance serves everything; kept so both backends have the same
-- tables.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at DOUBLE NOT NULL
);
