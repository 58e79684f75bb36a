-- Pictures sent with a chat message: the names of their files under <data_dir>/media (<sha256>.<ext>), as JSON.
ALTER TABLE chat_messages ADD COLUMN images TEXT NOT NULL DEFAULT '[]';
