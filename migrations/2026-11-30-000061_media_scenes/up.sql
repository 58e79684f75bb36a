-- Visual context (`visual.update` type "scene"): the scene every persona sees (scope '') and per-persona scenes
-- (scope = the persona's id), each until replaced.
CREATE TABLE scenes (
    scope TEXT PRIMARY KEY NOT NULL,
    persona_id TEXT REFERENCES personas(id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
