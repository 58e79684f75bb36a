-- Chatrooms: participants of a persona-to-persona conversation after the first two, as a JSON list of ids.
ALTER TABLE dialogues ADD COLUMN more_participants TEXT NOT NULL DEFAULT '[]';
