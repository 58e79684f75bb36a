-- PostgreSQL twin of migrations/2026-11-30-000061_media_scenes.
CREATE TABLE scenes (
    scope TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    persona_id TEXT COLLATE "C" REFERENCES personas(id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
