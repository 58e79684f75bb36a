-- How many memories hold each word of the keyword index: keyword search plans from it which matches to rank
-- (src/storage/sql/keywords.rs).
CREATE VIRTUAL TABLE memories_fts_vocab USING fts5vocab(memories_fts, 'row');
