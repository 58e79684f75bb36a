-- What each chat turn cost and did, on its reply (issue 17: conversation analytics are served from these).
ALTER TABLE chat_messages ADD COLUMN tokens_in BIGINT;
ALTER TABLE chat_messages ADD COLUMN tokens_out BIGINT;
ALTER TABLE chat_messages ADD COLUMN latency_seconds DOUBLE;
ALTER TABLE chat_messages ADD COLUMN ttfc_seconds DOUBLE;
ALTER TABLE chat_messages ADD COLUMN continue_score DOUBLE;
-- The persona's emotional state after the turn, as JSON.
ALTER TABLE chat_messages ADD COLUMN emotions TEXT;
-- The ids of the memories recalled into the turn's prompt, as a JSON array.
ALTER TABLE chat_messages ADD COLUMN recalled TEXT;
CREATE INDEX chat_messages_created ON chat_messages (created_at);
