ALTER TABLE chat_threads DROP COLUMN title;
