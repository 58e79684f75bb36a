-- PostgreSQL twin of migrations/2026-11-30-000270_pg2_leases: a lease is held by one instance (`holder`) until
-- `expires_at` (seconds since the epoch, by the database server's clock) unless the holder renews it; another
-- instance takes it over once it has expired. `persona:<id>` names the writer of a persona's background state
-- changes (energy regeneration), `decay` the instance that runs the memory decay cycles.
CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
