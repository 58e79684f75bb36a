ALTER TABLE dialogues DROP COLUMN more_participants;
