-- PostgreSQL twin of migrations/2026-11-30-000060_media_message_images.
-- Pictures sent with a chat message: the names of their files under <data_dir>/media (<sha256>.<ext>), as JSON.
ALTER TABLE chat_messages ADD COLUMN images TEXT NOT NULL DEFAULT '[]';
