-- PostgreSQL twin of migrations/2026-11-30-000062_media_chatrooms.
-- Chatrooms: participants of a persona-to-persona conversation after the first two, as a JSON list of ids.
ALTER TABLE dialogues ADD COLUMN more_participants TEXT NOT NULL DEFAULT '[]';
