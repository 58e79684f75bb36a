DROP INDEX chat_messages_created;
ALTER TABLE chat_messages DROP COLUMN recalled;
ALTER TABLE chat_messages DROP COLUMN emotions;
ALTER TABLE chat_messages DROP COLUMN continue_score;
ALTER TABLE chat_messages DROP COLUMN ttfc_seconds;
ALTER TABLE chat_messages DROP COLUMN latency_seconds;
ALTER TABLE chat_messages DROP COLUMN tokens_out;
ALTER TABLE chat_messages DROP COLUMN tokens_in;
