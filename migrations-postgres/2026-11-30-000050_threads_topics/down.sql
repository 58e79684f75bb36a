DROP INDEX chat_messages_thread;
ALTER TABLE chat_messages DROP COLUMN thread_id;
DROP TABLE chat_threads;
